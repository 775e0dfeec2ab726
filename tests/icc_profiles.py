"""ICC profiles for tests, built from published primaries (no profile file needs a licence).

:func:`prophoto_icc` is a matrix/TRC ICC v2 display profile with ProPhoto (ROMM RGB) primaries,
D50 white and a pure 1.8 gamma, the numbers of ISO 22028-2 / Kodak's ROMM RGB paper. LittleCMS
reads it like Photoshop's "ProPhoto RGB". :data:`PROPHOTO_TO_XYZ_D50` is the same matrix for
computing expected values by hand.
"""

from __future__ import annotations

import struct

import numpy as np

PROPHOTO_TO_XYZ_D50 = np.array(
    [
        [0.7977, 0.1352, 0.0313],
        [0.2880, 0.7119, 0.0001],
        [0.0000, 0.0000, 0.8249],
    ]
)
"""Linear ROMM RGB -> CIE XYZ (D50): the columns are the red, green and blue colorants."""

D50 = (0.9642, 1.0, 0.8249)


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ " + b"\0" * 4 + _s15(x) + _s15(y) + _s15(z)


def _curve(gamma: float) -> bytes:
    return b"curv" + b"\0" * 4 + struct.pack(">IH", 1, round(gamma * 256)) + b"\0\0"


def _desc(text: str) -> bytes:
    ascii_ = text.encode("ascii") + b"\0"
    return (
        b"desc"
        + b"\0" * 4
        + struct.pack(">I", len(ascii_))
        + ascii_
        + struct.pack(">II", 0, 0)
        + struct.pack(">HB", 0, 0)
        + b"\0" * 67
    )


def _pad(blob: bytes) -> bytes:
    return blob + b"\0" * (-len(blob) % 4)


def matrix_icc(name: str, matrix: np.ndarray, gamma: float) -> bytes:
    """An ICC v2 RGB display profile: colorants = *matrix*'s columns (XYZ D50), one gamma."""
    tags = [
        (b"desc", _desc(name)),
        (b"cprt", b"text" + b"\0" * 4 + b"No copyright: test profile\0"),
        (b"wtpt", _xyz(*D50)),
        (b"rXYZ", _xyz(*matrix[:, 0])),
        (b"gXYZ", _xyz(*matrix[:, 1])),
        (b"bXYZ", _xyz(*matrix[:, 2])),
        (b"rTRC", _curve(gamma)),
        (b"gTRC", _curve(gamma)),
        (b"bTRC", _curve(gamma)),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for signature, blob in tags:
        table += signature + struct.pack(">II", offset + len(data), len(blob))
        data += _pad(blob)
    size = offset + len(data)
    header = (
        struct.pack(">I", size)
        + b"\0" * 4  # preferred CMM
        + bytes([2, 0x10, 0, 0])  # version 2.1
        + b"mntr"
        + b"RGB "
        + b"XYZ "
        + struct.pack(">6H", 2024, 1, 1, 0, 0, 0)
        + b"acsp"
        + b"\0" * 4  # platform
        + b"\0" * 4  # flags
        + b"\0" * 8  # manufacturer, model
        + b"\0" * 8  # attributes
        + struct.pack(">I", 0)  # perceptual
        + _s15(D50[0])
        + _s15(D50[1])
        + _s15(D50[2])
        + b"\0" * 4  # creator
        + b"\0" * 44
    )
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + data


def prophoto_icc() -> bytes:
    """ProPhoto RGB (ROMM primaries, D50, gamma 1.8) as ICC v2 bytes."""
    return matrix_icc("ProPhoto RGB (regrain test)", PROPHOTO_TO_XYZ_D50, 1.8)


def prophoto_to_srgb(rgb: np.ndarray) -> np.ndarray:
    """The published path, by hand: ROMM RGB (0-1) -> XYZ D50 -> Bradford to D65 -> sRGB (0-1).

    The sRGB matrix and curve are IEC 61966-2-1's; Bradford's cone matrix is Lam's (1985).
    """
    bradford = np.array(
        [[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]]
    )
    d65 = np.array([0.95047, 1.0, 1.08883])
    gain = (bradford @ d65) / (bradford @ np.array(D50))
    adapt = np.linalg.inv(bradford) @ np.diag(gain) @ bradford
    xyz_to_srgb = np.array(
        [[3.2406, -1.5372, -0.4986], [-0.9689, 1.8758, 0.0415], [0.0557, -0.2040, 1.0570]]
    )
    linear = np.clip(xyz_to_srgb @ adapt @ PROPHOTO_TO_XYZ_D50 @ (rgb**1.8), 0, 1)
    return np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)
