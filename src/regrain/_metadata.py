"""Metadata blocks that regrain carries from input to output: IPTC, XMP's processing note, JPEG
quality, and the colour space an ICC profile is made for.

Everything here works on bytes, no pixels: :mod:`regrain.io` reads the blocks out of each format
and writes them back. What survives which path is measured with exiftool in ``docs/files.md``.

- IPTC-IIM is kept as the raw record bytes (``1C 02 ...``). JPEG and PNG wrap it in a Photoshop
  image-resource block (``8BIM`` resource 0x0404), as Photoshop and exiftool do; TIFF stores the
  raw bytes in tag 33723.
- XMP is kept byte for byte; :func:`add_history` inserts one ``xmpMM:History`` event saying what
  regrain did, and touches nothing else (``xmp:CreatorTool`` included).
- :func:`jpeg_quality` inverts the IJG scaling of the standard luminance table (what libjpeg,
  Pillow, OpenCV and most cameras' firmware use), so a q80 file is written back at q80.
"""

from __future__ import annotations

import re
import struct
import zlib
from datetime import UTC, datetime
from xml.etree import ElementTree

__all__ = [
    "JPEG_SUBSAMPLING",
    "add_history",
    "icc_colour_space",
    "ijg_table",
    "iptc_app13",
    "iptc_from_irb",
    "iptc_from_png_text",
    "iptc_irb",
    "iptc_png_text",
    "jpeg_quality",
    "note_parameters",
    "read_history",
]

# ----------------------------------------------------------------------------------------- IPTC

_IPTC_RESOURCE = 0x0404
_PHOTOSHOP_APP13 = b"Photoshop 3.0\0"


def iptc_from_irb(blob: bytes) -> bytes | None:
    """The IPTC record inside Photoshop image resources (``8BIM`` blocks), or None."""
    if blob.startswith(_PHOTOSHOP_APP13):
        blob = blob[len(_PHOTOSHOP_APP13) :]
    pos = 0
    while pos + 12 <= len(blob) and blob[pos : pos + 4] == b"8BIM":
        (rid,) = struct.unpack(">H", blob[pos + 4 : pos + 6])
        name_len = blob[pos + 6]
        pos += 6 + ((name_len + 2) & ~1)  # Pascal name padded to even length
        if pos + 4 > len(blob):
            return None
        (size,) = struct.unpack(">I", blob[pos : pos + 4])
        data = blob[pos + 4 : pos + 4 + size]
        if rid == _IPTC_RESOURCE and len(data) == size:
            return bytes(data) or None
        pos += 4 + size + (size & 1)
    return None


def iptc_irb(iptc: bytes) -> bytes:
    """IPTC bytes as one Photoshop image resource (``8BIM`` 0x0404, empty name, even padding)."""
    pad = b"\0" if len(iptc) % 2 else b""
    return b"8BIM" + struct.pack(">HHI", _IPTC_RESOURCE, 0, len(iptc)) + iptc + pad


def iptc_app13(iptc: bytes) -> bytes:
    """A JPEG APP13 marker segment holding *iptc*, as Photoshop writes it."""
    body = _PHOTOSHOP_APP13 + iptc_irb(iptc)
    if len(body) + 2 > 65535:
        raise ValueError(f"IPTC block of {len(iptc)} bytes does not fit in a JPEG marker")
    return b"\xff\xed" + struct.pack(">H", len(body) + 2) + body


_RAW_PROFILE = re.compile(rb"^\s*(\S[^\n]*)\n\s*(\d+)\n(.*)$", re.S)


def iptc_from_png_text(text: bytes) -> bytes | None:
    """IPTC from ImageMagick/exiftool's PNG text "Raw profile type iptc": a title line, a byte
    count, then hex. exiftool stores Photoshop resources there, ImageMagick the raw record."""
    m = _RAW_PROFILE.match(text)
    if not m:
        return None
    try:
        data = bytes.fromhex(m.group(3).decode("ascii"))
    except ValueError:
        return None
    if len(data) != int(m.group(2)):
        return None
    if data.startswith(b"8BIM"):
        return iptc_from_irb(data)
    return data or None


def iptc_png_text(iptc: bytes) -> bytes:
    """The zTXt chunk data exiftool writes for IPTC in PNG (keyword, method 0, deflated text)."""
    irb = iptc_irb(iptc)
    hexed = irb.hex()
    lines = "\n".join(hexed[i : i + 72] for i in range(0, len(hexed), 72))
    text = f"\nIPTC profile\n{len(irb):8d}\n{lines}\n".encode("ascii")
    return b"Raw profile type iptc\0\0" + zlib.compress(text)


# ----------------------------------------------------------------------------------------- JPEG

# The standard luminance quantization table (ITU-T T.81 Annex K.1), natural (row) order, which is
# the order Pillow's ``im.quantization`` gives.
_STD_LUMINANCE = (
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
)  # fmt: skip

JPEG_SUBSAMPLING = {0: "4:4:4", 1: "4:2:2", 2: "4:2:0"}
"""Pillow's ``JpegImagePlugin.get_sampling`` codes -> the names regrain records."""


def ijg_table(quality: int, base: tuple[int, ...] = _STD_LUMINANCE) -> list[int]:
    """The table libjpeg's ``jpeg_set_quality(quality, force_baseline=TRUE)`` makes from *base*."""
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return [min(max((b * scale + 50) // 100, 1), 255) for b in base]


_IJG_TABLES = {q: ijg_table(q) for q in range(1, 101)}


def jpeg_quality(luminance: list[int] | tuple[int, ...]) -> tuple[int, bool]:
    """(quality 1-100, exact) that made a luminance table with the IJG formula.

    *exact* is True when the table is one libjpeg makes at that quality (the quality is then the
    file's own); otherwise the nearest quality in summed absolute difference (other encoders).

    >>> jpeg_quality(ijg_table(80))
    (80, True)
    """
    table = [int(v) for v in luminance]
    if len(table) != 64:
        return 95, False
    for q, ref in _IJG_TABLES.items():
        if ref == table:
            return q, True
    best = min(
        _IJG_TABLES,
        key=lambda q: sum(abs(a - b) for a, b in zip(_IJG_TABLES[q], table, strict=True)),
    )
    return best, False


# ------------------------------------------------------------------------------------------ ICC


def icc_colour_space(icc: bytes | None) -> str | None:
    """The data colour space of an ICC profile ('RGB', 'GRAY', 'CMYK', 'Lab' ...), or None."""
    if not icc or len(icc) < 20:
        return None
    return icc[16:20].decode("latin-1").strip() or None


# ------------------------------------------------------------------------------------------ XMP

_NS_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_NS_MM = "http://ns.adobe.com/xap/1.0/mm/"
_NS_EVT = "http://ns.adobe.com/xap/1.0/sType/ResourceEvent#"

_EMPTY_PACKET = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
    f' <rdf:RDF xmlns:rdf="{_NS_RDF}">\n'
    " </rdf:RDF>\n"
    "</x:xmpmeta>\n"
    '<?xpacket end="w"?>'
)


def _escape(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def note_parameters(note: str | dict) -> str:
    """What ran and its options as one line: ``"restore: material=auto, strength=1"``."""
    if isinstance(note, str):
        return note
    items = dict(note)
    what = items.pop("command", None) or items.pop("job", None)
    options = ", ".join(f"{k}={v}" for k, v in items.items())
    if what and options:
        return f"{what}: {options}"
    return str(what or options)


def _prefix(packet: str, uri: str) -> str | None:
    m = re.search(r"xmlns:([A-Za-z_][\w.-]*)\s*=\s*[\"']" + re.escape(uri) + r"[\"']", packet)
    return m.group(1) if m else None


def add_history(
    xmp: bytes | None,
    note: str | dict,
    *,
    action: str = "processed",
    agent: str = "regrain",
    when: datetime | None = None,
) -> bytes:
    """*xmp* with one more ``xmpMM:History`` event (``stEvt:action``, ``softwareAgent``,
    ``parameters``, ``when``); a minimal packet holding only that event when *xmp* is None.

    The rest of the packet is kept as it is, byte for byte: the event goes at the end of an
    existing History sequence, or in a new ``rdf:Description`` before ``</rdf:RDF>``. A packet that
    is not well-formed XML is returned unchanged (better the original's words than a broken file).
    """
    stamp = (when or datetime.now(UTC)).replace(microsecond=0).isoformat()
    original = xmp
    try:
        packet = (xmp or _EMPTY_PACKET.encode()).decode("utf-8")
        ElementTree.fromstring(_body(packet))
    except (UnicodeDecodeError, ElementTree.ParseError):
        return original or b""
    rdf = _prefix(packet, _NS_RDF) or "rdf"
    evt = _prefix(packet, _NS_EVT)
    declare = "" if evt else f' xmlns:stEvt="{_NS_EVT}"'
    evt = evt or "stEvt"
    fields = (
        f"{evt}:action={_quote(action)} {evt}:softwareAgent={_quote(agent)} "
        f"{evt}:parameters={_quote(note_parameters(note))} {evt}:when={_quote(stamp)}"
    )
    mm = _prefix(packet, _NS_MM)
    seq = None
    if mm:
        hist = re.search(rf"<{mm}:History\s*>\s*<{rdf}:Seq\s*>", packet)
        if hist:
            close = packet.find(f"</{rdf}:Seq>", hist.end())
            seq = close if close > 0 else None
    if seq is not None:
        item = f" <{rdf}:li><{rdf}:Description{declare} {fields}/></{rdf}:li>\n   "
        packet = packet[:seq] + item + packet[seq:]
    else:
        mm_decl = "" if mm else f' xmlns:xmpMM="{_NS_MM}"'
        mm = mm or "xmpMM"
        block = (
            f'  <{rdf}:Description {rdf}:about=""{mm_decl}{declare}>\n'
            f"   <{mm}:History>\n    <{rdf}:Seq>\n"
            f"     <{rdf}:li><{rdf}:Description {fields}/></{rdf}:li>\n"
            f"    </{rdf}:Seq>\n   </{mm}:History>\n  </{rdf}:Description>\n "
        )
        end = packet.rfind(f"</{rdf}:RDF>")
        if end < 0:
            return original or b""
        packet = packet[:end] + block + packet[end:]
    packet = _take_padding(packet, len(original) if original else None)
    try:
        ElementTree.fromstring(_body(packet))
    except ElementTree.ParseError:  # pragma: no cover - the insertions above are well-formed
        return original or b""
    return packet.encode("utf-8")


def _quote(value: str) -> str:
    return '"' + _escape(value).replace("\n", "&#10;") + '"'


def _body(packet: str) -> str:
    """The packet without its ``<?xpacket?>`` wrapper and padding, for ElementTree."""
    packet = re.sub(r"^\s*<\?xpacket[^>]*\?>", "", packet.lstrip("\ufeff"))
    return re.sub(r"<\?xpacket[^>]*\?>\s*$", "", packet.rstrip("\0 \n\r\t"))


def _take_padding(packet: str, size: int | None) -> str:
    """Use the packet's trailing padding for what was inserted, so its size stays when it can
    (XMP leaves that whitespace for in-place edits)."""
    if size is None:
        return packet
    m = re.search(r"(\s+)(<\?xpacket end=[^>]*\?>\s*)$", packet)
    if not m:
        return packet
    extra = len(packet.encode("utf-8")) - size
    pad = m.group(1)
    if extra <= 0 or len(pad) - extra < 1:
        return packet
    return packet[: m.start(1)] + pad[: len(pad) - extra] + packet[m.start(2) :]


def read_history(xmp: bytes | None) -> list[dict[str, str]]:
    """The ``xmpMM:History`` events of a packet, oldest first, as {field: value} with the
    ``stEvt`` names (``action``, ``softwareAgent``, ``parameters``, ``when`` ...), whichever RDF
    form wrote them (attributes, as regrain does, or elements, as exiftool and Adobe do).

    Lets a batch see which options made an output (regrain's events have ``softwareAgent``
    starting with "regrain ").
    """
    if not xmp:
        return []
    try:
        root = ElementTree.fromstring(_body(xmp.decode("utf-8")))
    except (UnicodeDecodeError, ElementTree.ParseError):
        return []
    events = []
    for history in root.iter(f"{{{_NS_MM}}}History"):
        for li in history.iter(f"{{{_NS_RDF}}}li"):
            event: dict[str, str] = {}
            for node in (li, *li.iter()):
                for key, value in node.attrib.items():
                    if key.startswith(f"{{{_NS_EVT}}}"):
                        event[key.split("}", 1)[1]] = value
                if node.tag.startswith(f"{{{_NS_EVT}}}") and node.text:
                    event[node.tag.split("}", 1)[1]] = node.text.strip()
            if event:
                events.append(event)
    return events
