"""regrain._memory and probe_image: a job that cannot fit in memory is refused from the header, in
one line, before a pixel is decoded; what is available is read from the cgroup, /proc/meminfo and
RLIMIT_AS."""

from __future__ import annotations

import io as _bytes_io
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from conftest import write_psd
from regrain import _memory, io
from regrain.errors import ImageFileError, ParameterError


def huge_jpeg(path: Path, width: int = 19000, height: int = 19000) -> Path:
    """A valid small JPEG whose SOF0 header is patched to claim width x height px."""
    buf = _bytes_io.BytesIO()
    Image.fromarray(np.full((16, 16, 3), 128, np.uint8)).save(buf, format="JPEG", quality=90)
    data = bytearray(buf.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    path.write_bytes(bytes(data))
    return path


def test_probe_reads_only_the_header(tmp_path: Path) -> None:
    jpeg = huge_jpeg(tmp_path / "big.jpg")
    assert jpeg.stat().st_size < 2200
    assert io.probe_image(jpeg) == io.ImageHeader("jpeg", 19000, 19000, 3, 8)
    with pytest.raises(ImageFileError, match="above the limit of 100 MP"):
        io.probe_image(jpeg, max_pixels=100_000_000)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.tif", io.ImageHeader("tiff", 5, 3, 4, 16)),
        ("a.png", io.ImageHeader("png", 5, 3, 4, 16)),
        ("g.png", io.ImageHeader("png", 5, 3, 1, 8)),
        ("a.psd", io.ImageHeader("psd", 5, 3, 3, 16)),
    ],
)
def test_probe_every_format(tmp_path: Path, name: str, expected: io.ImageHeader) -> None:
    rgba = np.zeros((3, 5, 4), np.uint16)
    path = tmp_path / name
    if name == "a.tif":
        tifffile.imwrite(path, rgba, photometric="rgb", extrasamples=[2])
    elif name == "a.png":
        import imagecodecs

        path.write_bytes(imagecodecs.png_encode(rgba))
    elif name == "g.png":
        Image.fromarray(np.zeros((3, 5), np.uint8)).save(path)
    else:
        write_psd(path, rgba[..., :3])
    assert io.probe_image(path) == expected


def test_check_memory_says_what_is_needed_and_available(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_memory, "available_bytes", lambda: 9_800_000_000)
    with pytest.raises(ImageFileError) as err:
        _memory.check_memory("shot.tif", 361_000_000, 40, "split")
    assert str(err.value).startswith(
        "shot.tif: 361 MP needs about 14.4 GB for split; 9.8 GB is available; close other"
    )
    _memory.check_memory("shot.tif", 24_000_000, 40, "split")  # 0.96 GB fits: no error


def test_unknown_job_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="unknown job 'splt'; expected one of: blend, "):
        io.read_image(huge_jpeg(tmp_path / "a.jpg", 16, 16), job="splt")


def test_read_with_job_refuses_before_decoding(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(_memory, "available_bytes", lambda: 3_000_000_000)
    path = huge_jpeg(tmp_path / "big.jpg")
    with pytest.raises(ImageFileError, match=r"big.jpg: 361 MP needs about [\d.]+ GB for split"):
        io.read_image(path, job="split")
    # without a job the header's size still cannot be decoded from 600 bytes
    with pytest.raises(ImageFileError, match=r"big.jpg: file is truncated \(\d+ bytes; "
                       r"19000x19000 px need at least 705078 bytes\)"):  # fmt: skip
        io.read_image(path)


def test_table_covers_every_command() -> None:
    jobs = "read convert split merge grain blend graft luminosity restore inspect".split()
    assert set(_memory.BYTES_PER_PIXEL) == set(jobs)
    assert all(v >= 18 for v in _memory.BYTES_PER_PIXEL.values())  # >= float32 RGB + 16-bit file


def test_cgroup_v2_limit_minus_usage(tmp_path: Path) -> None:
    root = tmp_path / "cg"
    (root / "user" / "job").mkdir(parents=True)
    (root / "user" / "memory.max").write_text("3000000000\n")
    (root / "user" / "memory.current").write_text("1000000000\n")
    (root / "user" / "job" / "memory.max").write_text("max\n")
    (root / "user" / "job" / "memory.current").write_text("500000000\n")
    membership = tmp_path / "cgroup"
    membership.write_text("0::/user/job\n")
    assert _memory._cgroup_room(root, membership) == 2_000_000_000  # the parent's room


def test_cgroup_v1_limit_minus_usage(tmp_path: Path) -> None:
    mem = tmp_path / "cg" / "memory" / "docker" / "abc"
    mem.mkdir(parents=True)
    (mem / "memory.limit_in_bytes").write_text("4000000000")
    (mem / "memory.usage_in_bytes").write_text("1500000000")
    membership = tmp_path / "cgroup"
    membership.write_text("12:memory:/docker/abc\n11:cpu,cpuacct:/docker/abc\n")
    assert _memory._cgroup_room(tmp_path / "cg", membership) == 2_500_000_000


def test_meminfo_is_read() -> None:
    available = _memory._meminfo_available()
    assert available is None or available > 0
    room = _memory.available_bytes()
    assert room is None or (available is None or room <= available)


_UNDER_LIMIT = textwrap.dedent(
    """
    import resource, sys
    from regrain import io, _memory
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
    print(_memory._address_room() < 3 << 30)
    for path in sys.argv[1:]:
        try:
            image, _ = io.read_image(path, job="split")
            print("read", image.shape)
        except Exception as exc:
            print(type(exc).__name__, exc)
    """
)


def test_under_a_3_gb_address_space_limit(tmp_path: Path) -> None:
    big = huge_jpeg(tmp_path / "big.jpg")
    small = tmp_path / "small.tif"
    tifffile.imwrite(small, np.zeros((64, 64, 3), np.uint16), photometric="rgb")
    out = subprocess.run([sys.executable, "-c", _UNDER_LIMIT, str(big), str(small)],
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    lines = out.stdout.splitlines()
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    assert lines[0] == "True"
    assert lines[1].startswith(f"ImageFileError {big}: 361 MP needs about ")
    assert "GB is available" in lines[1]
    assert lines[2] == "read (64, 64, 3)"
