"""restore on files: read a pair, restore it, write the result and its maps.

The core (:mod:`regrain._restore`) works on arrays; this module is the I/O edge around it, used by
``regrain restore``, ``regrain inspect`` and the batch workers.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import numpy as np

from regrain._restore import MAX_GLARE_GAIN, RestoreResult, restore
from regrain.io import DEFAULT_MAX_PIXELS, ImageInfo

__all__ = ["PairImages", "check_alignment", "read_pair", "restore_file", "write_maps"]


class PairImages(NamedTuple):
    """A pair as read: float32 images of one size and colour kind, and both files' info."""

    original: np.ndarray
    edited: np.ndarray
    info: ImageInfo
    """The edited file's: the output is written like it."""
    original_info: ImageInfo

    @property
    def compare_bits(self) -> int | None:
        """The coarser integer depth when the two files' depths differ (None when alike)."""
        depths = {self.info.bits, self.original_info.bits}
        if len(depths) == 1:
            return None
        integer = [b for b in depths if b in (8, 16)]
        return min(integer) if integer else None


MAX_SHIFT_PX = 0.5
"""A pair whose content is displaced by more than this (px, at full resolution) does not line up:
restore would move the AI's edges back to the original's places."""

ALIGN_TILE = 256
"""Side (px) of the tiles where the pair's displacement is measured by phase correlation (a power
of two)."""


def read_pair(
    original: str | os.PathLike[str],
    edited: str | os.PathLike[str],
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    job: str = "restore",
) -> PairImages:
    """Read an (original, edited) pair as float32 images that cover the same pixels in the same
    colour kind, and check that they line up. The sizes are compared from the headers before
    either file is decoded, the memory *job* (``"restore"`` or ``"inspect"``) needs is checked
    before each is (see :func:`regrain.io.read_image`); both files are read at once (decoding
    and the float conversion release the GIL).

    Refused with an :class:`~regrain.errors.ImageFileError` naming the edited file (the one that
    differs from the reference): another size (a 90-degree rotation is named as such), another
    colour kind, or a global shift or scale between the two.
    """
    from concurrent.futures import ThreadPoolExecutor

    from regrain import io

    # the sizes from the headers first: a mismatched pair is refused before either is decoded
    heads = [io.probe_image(p, max_pixels=max_pixels) for p in (original, edited)]
    _check_sizes(*((h.height, h.width) for h in heads), original, edited)
    with ThreadPoolExecutor(2) as pool:
        reading = [
            pool.submit(io.read_image, p, max_pixels=max_pixels, job=job)
            for p in (original, edited)
        ]
        (orig, orig_info), (edit, info) = (r.result() for r in reading)
    _check_sizes(orig.shape[:2], edit.shape[:2], original, edited)
    if orig.shape[2] != edit.shape[2]:
        kinds = {1: "grayscale", 3: "RGB"}
        raise io.ImageFileError(
            edited,
            f"edited image is {kinds.get(edit.shape[2], edit.shape[2])} but the original "
            f"{Path(original).name} is {kinds.get(orig.shape[2], orig.shape[2])}; convert one to "
            "match",
        )
    check_alignment(orig, edit, edited_path=edited, original_path=original)
    return PairImages(orig, edit, info, orig_info)


def _check_sizes(orig: tuple[int, int], edit: tuple[int, int], original, edited) -> None:
    """Refuse a pair of other sizes (H, W), naming the edited file; a 90-degree turn is said."""
    from regrain import io

    (oh, ow), (eh, ew) = orig, edit
    if (oh, ow) == (eh, ew):
        return
    hint = ""
    if (oh, ow) == (ew, eh):
        hint = (
            "; one of them is turned 90 degrees (an EXIF Orientation the other tool applied "
            "and this one did not?): rotate it to match"
        )
    raise io.ImageFileError(
        edited,
        f"edited image is {ew}x{eh} px but the original {Path(original).name} is {ow}x{oh} px"
        + hint,
    )


def check_alignment(
    original: np.ndarray,
    edited: np.ndarray,
    *,
    edited_path: str | os.PathLike[str] = "edited image",
    original_path: str | os.PathLike[str] = "original",
) -> None:
    """Refuse a pair whose content is shifted or scaled against each other.

    The displacement is measured by phase correlation (OpenCV) on up to five ALIGN_TILE tiles of
    the lumas (the centre and four quadrants; an edit covers few of them): a global shift moves
    them all alike, a scale moves them apart in proportion to their distance from the centre.
    Only tiles with structure to correlate and a clear correlation peak count; the median
    decides, and nothing is refused on the say of fewer than three tiles.
    """
    import cv2

    from regrain import io
    from regrain._luma import luma

    h, w = original.shape[:2]
    limit = min(ALIGN_TILE, h // 2, w // 2)
    if limit < 32:
        return
    # a power of two: OpenCV pads other sizes for its DFT, which biases the peak by half a pixel
    size = 1 << (int(limit).bit_length() - 1)
    window = cv2.createHanningWindow((size, size), cv2.CV_32F)
    centres = [(h // 2, w // 2), (h // 4, w // 4), (h // 4, 3 * w // 4)]
    centres += [(3 * h // 4, w // 4), (3 * h // 4, 3 * w // 4)]
    shifts, places = [], []
    for cy, cx in centres:
        y0, x0 = max(0, cy - size // 2), max(0, cx - size // 2)
        tile = (slice(y0, y0 + size), slice(x0, x0 + size))
        a = np.ascontiguousarray(luma(original[tile]), dtype=np.float32)
        b = np.ascontiguousarray(luma(edited[tile]), dtype=np.float32)
        if a.shape != (size, size) or float(a.std()) < 1.0 / 255 or np.array_equal(a, b):
            if np.array_equal(a, b):
                shifts.append((0.0, 0.0))
                places.append((cy - h / 2, cx - w / 2))
            continue
        (dx, dy), response = cv2.phaseCorrelate(a, b, window)
        if response < 0.2:
            continue  # no clear peak: the edit replaced this tile's content
        shifts.append((dy, dx))
        places.append((cy - h / 2, cx - w / 2))
    if len(shifts) < 3:
        return
    moves = np.array(shifts)
    pos = np.array(places)
    if (np.hypot(moves[:, 0], moves[:, 1]) > MAX_SHIFT_PX).sum() < 3:
        return
    # fit moves = shift + scale * place (a global shift and a scale about the centre); tiles
    # that do not fit that model (an edit fooled their correlation) give no verdict
    design = np.zeros((2 * len(moves), 3))
    design[0::2, 0] = 1.0
    design[1::2, 1] = 1.0
    design[0::2, 2] = pos[:, 0]
    design[1::2, 2] = pos[:, 1]
    (ty, tx, scale), *_ = np.linalg.lstsq(design, moves.reshape(-1), rcond=None)
    misfit = moves.reshape(-1) - design @ np.array([ty, tx, scale])
    if float(np.sqrt(np.mean(misfit**2))) > MAX_SHIFT_PX:
        return
    if abs(scale) * max(h, w) / 4 > MAX_SHIFT_PX:
        raise io.ImageFileError(
            edited_path,
            f"edited image is scaled by about {100 * scale:+.1f}% against the original "
            f"{Path(original_path).name}; restore needs the two to line up pixel for pixel",
        )
    if np.hypot(ty, tx) > MAX_SHIFT_PX:
        raise io.ImageFileError(
            edited_path,
            f"edited image is shifted by ({round(tx)}, {round(ty)}) px (x, y) against the "
            f"original {Path(original_path).name}; restore needs the two to line up pixel for "
            "pixel",
        )


def restore_file(
    original: str | os.PathLike[str],
    edited: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    mask: str | os.PathLike[str] | None = None,
    maps_dir: str | os.PathLike[str] | None = None,
    material: str = "auto",
    seed: int = 0,
    strength: float = 1.0,
    bits: int | None = None,
    quality: int | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> dict:
    """Read a pair, restore it, write *output* atomically (the edited file's kind, depth, ICC).

    Returns the figures a catalog sorts by (see :attr:`RestoreResult.figures`: share of the area
    gone plastic and texture energy ratio, before and after) and the seconds it took.
    """
    from regrain import io

    start = time.perf_counter()
    inputs = [p for p in (original, edited, mask) if p is not None]
    psd = Path(output).suffix.lower() == ".psd"
    io.check_output_path(output, inputs, suffixes=(*io.WRITE_FORMATS, ".psd"))
    if maps_dir is not None:
        _check_maps_dir(Path(maps_dir), inputs)
    pair = read_pair(original, edited, max_pixels=max_pixels)
    m = io.read_mask(mask, pair.edited.shape, max_pixels=max_pixels) if mask is not None else None
    result = restore(
        pair.original,
        pair.edited,
        mask=m,
        material=material,
        seed=seed,
        strength=strength,
        layers=psd,
        compare_bits=pair.compare_bits,
        # the edited pixels are needed no more, except as a PSD's bottom layer: the result is
        # written over them
        out=None if psd else pair.edited,
    )
    note = {"command": "restore", "material": material, "strength": strength, "seed": seed}
    if mask is not None:
        note["mask"] = Path(mask).name
    # the output and its maps are one set: each is written beside its place under a hidden
    # name, and all are renamed at the end (the output last: an existing output means a
    # finished pair) or none is, so a full disk leaves the old files as they were
    with written_together() as files:
        if maps_dir is not None:
            write_maps(maps_dir, result, pair.info, inputs=inputs, files=files)
        target = files.stage(Path(output))
        if psd:
            from regrain._psd import write_restore_psd

            write_restore_psd(
                target,
                pair.edited,
                result.layers,
                pair.info,
                strength=strength,
                note=note,
                bits=bits,
            )
        else:
            io.write_image(
                target,
                result.image,
                pair.info,
                bits=bits,
                quality=quality,
                inputs=inputs,
                note=note,
            )
    out = dict(result.figures)
    out["seconds"] = time.perf_counter() - start
    return out


class FileSet:
    """Files written as one set: each under a hidden temporary name beside its place, renamed
    onto their places together by :func:`written_together`. The temporary name,
    ``.<name>.<random>.part<ext>``, keeps the extension for the writers and is one that ``batch``
    cleans up after a killed run."""

    def __init__(self) -> None:
        self.staged: list[tuple[Path, Path]] = []
        self.made: list[Path] = []
        """Folders made for the set, removed again when it fails."""

    def stage(self, path: Path) -> Path:
        """The temporary path to write *path*'s content to."""
        import secrets

        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part{path.suffix}")
        self.staged.append((tmp, path))
        return tmp

    def folder(self, path: Path) -> Path:
        """Make *path* (and missing parents) for the set; remembered to remove on failure."""
        missing = [p for p in (path, *path.parents) if not p.exists()]
        path.mkdir(parents=True, exist_ok=True)
        self.made += missing  # deepest first
        return path


@contextmanager
def written_together() -> Iterator[FileSet]:
    """Write a set of files as a whole or not at all: the block writes each file to
    ``files.stage(path)``; when it ends without error every file is renamed onto its place, in
    the order staged. On any error (a full disk, Ctrl-C) the temporary files and the folders made
    for them are removed, and the files already in place stay as they were."""
    from regrain import io

    files = FileSet()
    try:
        try:
            yield files
        except io.ImageFileError as exc:  # name the file as the user knows it
            final = {str(tmp): path for tmp, path in files.staged}.get(exc.path)
            if final is None:
                raise
            raise io.ImageFileError(final, exc.problem) from None
        for tmp, path in files.staged:
            try:
                os.replace(tmp, path)
            except OSError as exc:
                raise io.ImageFileError(path, f"cannot write ({exc.strerror or exc})") from None
        files.staged.clear()
    finally:
        for tmp, _ in files.staged:
            tmp.unlink(missing_ok=True)
        if files.staged:
            for folder in files.made:
                try:
                    folder.rmdir()
                except OSError:
                    break  # not empty, or not ours to remove


MAP_NAMES = ("changed", "rebuild", "loss", "gain", "classes")
"""The maps restore writes with --maps, as <name>.png."""


def _check_maps_dir(folder: Path, inputs: list) -> None:
    """Before the work: the maps folder can be made, and no map would land on an input."""
    from regrain import io

    if folder.exists() and not folder.is_dir():
        raise io.ImageFileError(folder, "the maps folder is a file; give a folder")
    for parent in folder.parents:
        if parent.exists():
            if not parent.is_dir():
                raise io.ImageFileError(folder, f"cannot make the maps folder: {parent} is a file")
            break
    for name in MAP_NAMES:
        target = (folder / f"{name}.png").resolve()
        for src in inputs:
            src = Path(src)
            if target == src.resolve() or (
                target.exists() and src.exists() and os.path.samefile(target, src)
            ):
                raise io.ImageFileError(
                    src, f"the map {name}.png would overwrite this input; choose another --maps"
                )


def write_maps(
    folder: str | os.PathLike[str],
    result: RestoreResult,
    info,
    *,
    inputs=(),
    files: FileSet | None = None,
) -> list[str]:
    """Write the restore maps as 8-bit PNGs into *folder*: ``changed.png`` and ``rebuild.png`` as
    plain gray masks, ``loss.png``, ``gain.png`` and ``classes.png`` as pictures with their legend
    drawn on them (see :mod:`regrain._pictures`). Gray maps carry no ICC profile, RGB ones sRGB.

    The maps are one set (all of them or none, see :func:`written_together`); with *files* they
    join that set (restore's output and its maps) and are renamed into place when it ends."""
    if files is None:
        with written_together() as own:
            return write_maps(folder, result, info, inputs=inputs, files=own)
    from regrain import _pictures, io
    from regrain._restore import CLASS_NAMES

    folder = files.folder(Path(folder))
    plain = info.with_(format="png", bits=8, alpha=None, exif=None, xmp=None, iptc=None)
    pictures = {
        "changed": result.map("changed")[..., None],
        "rebuild": result.map("rebuild")[..., None],
        "loss": _pictures.loss_map_picture(result.map("loss")),
        "gain": _pictures.gain_picture(result.map("gain"), top=MAX_GLARE_GAIN),
        "classes": _pictures.classes_picture(result.map("classes"), CLASS_NAMES),
    }
    written = []
    for name, picture in pictures.items():
        path = folder / f"{name}.png"
        icc = _pictures.picture_icc(picture.shape[2])
        io.write_image(files.stage(path), picture, plain.with_(icc=icc), bits=8, inputs=inputs)
        written.append(str(path))
    return written
