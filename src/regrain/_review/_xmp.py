"""A decision as an XMP label and rating, the fields Lightroom, Bridge and Capture One show.

``xmp:Label`` takes Adobe's default colour-label names and ``xmp:Rating`` the star rating (-1 is
Bridge's "Reject"); the note goes to ``photoshop:Instructions`` (IPTC "Instructions"). Two ways:

- a **sidecar** ``IMG_0042.xmp`` beside ``IMG_0042.tif`` (the default, the safe choice: the
  delivered file is not touched). Capture One reads sidecars of any format; Lightroom and Bridge
  read sidecars of raw files only, and for TIFF, JPEG, PNG and PSD read the XMP in the file;
- **embedded** in the delivered file, by exiftool (the field's metadata tool: it rewrites the
  metadata only, the pixels stay byte for byte), for Lightroom and Bridge on non-raw files.
"""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

from regrain.errors import RegrainError

__all__ = ["LABELS", "embed", "write_sidecar"]

LABELS = {"approved": ("Green", 5), "flagged": ("Yellow", 3), "rejected": ("Red", -1)}
"""Decision -> (xmp:Label, xmp:Rating)."""

NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "photoshop": "http://ns.adobe.com/photoshop/1.0/",
}
for _prefix, _uri in NS.items():
    ET.register_namespace(_prefix, _uri)


def _q(prefix: str, name: str) -> str:
    return f"{{{NS[prefix]}}}{name}"


def sidecar_path(output: Path) -> Path:
    """Adobe's sidecar name: the file's stem plus ``.xmp`` (``a.tif`` -> ``a.xmp``)."""
    return Path(output).with_suffix(".xmp")


def write_sidecar(output: Path, decision: str, note: str) -> Path:
    """Write (or update, keeping its other fields) the XMP sidecar of *output*; return its path."""
    from regrain.io import atomic_output

    label, rating = LABELS[decision]
    path = sidecar_path(output)
    root = None
    if path.is_file():
        try:
            root = ET.parse(path).getroot()
        except (ET.ParseError, OSError):
            root = None  # not XMP we can read: replaced (it was not a valid sidecar either)
    if root is None or root.tag != _q("x", "xmpmeta"):
        root = ET.Element(_q("x", "xmpmeta"))
        ET.SubElement(
            ET.SubElement(root, _q("rdf", "RDF")),
            _q("rdf", "Description"),
            {_q("rdf", "about"): ""},
        )
    description = root.find(f".//{_q('rdf', 'Description')}")
    if description is None:
        rdf = root.find(_q("rdf", "RDF"))
        if rdf is None:
            rdf = ET.SubElement(root, _q("rdf", "RDF"))
        description = ET.SubElement(rdf, _q("rdf", "Description"), {_q("rdf", "about"): ""})
    fields = {_q("xmp", "Label"): label, _q("xmp", "Rating"): str(rating)}
    fields[_q("photoshop", "Instructions")] = note
    for name, value in fields.items():
        for child in description.findall(name):  # the same field as an element: one value only
            description.remove(child)
        if value:
            description.set(name, value)
        else:
            description.attrib.pop(name, None)
    body = ET.tostring(root, encoding="unicode")
    text = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        + body
        + '\n<?xpacket end="w"?>\n'
    )
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def embed(output: Path, decision: str, note: str) -> Path:
    """Write the label, rating and note into *output*'s own XMP with exiftool."""
    exiftool = shutil.which("exiftool")
    if exiftool is None:
        raise RegrainError(
            "embedding a label needs exiftool (Debian: apt-get install libimage-exiftool-perl); "
            "write a sidecar instead"
        )
    label, rating = LABELS[decision]
    args = [
        exiftool,
        "-q",
        "-overwrite_original",
        f"-XMP-xmp:Label={label}",
        f"-XMP-xmp:Rating={rating}",
    ]
    args.append(f"-XMP-photoshop:Instructions={note}")
    done = subprocess.run([*args, "--", str(output)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["exiftool failed"])[-1]
        raise RegrainError(f"{output}: cannot embed the label ({reason})")
    return Path(output)
