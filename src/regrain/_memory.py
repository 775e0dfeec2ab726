"""How much memory a job will need, and how much the machine has free, checked before decoding.

A 2 KB JPEG may claim 19000 x 19000 px: under the pixel limit, yet ``split`` would need 24 GB.
:func:`regrain.io.read_image` with ``job=`` calls :func:`check_memory` from the header, so the
user reads one line ("shot.tif: 361 MP needs about 14 GB; 9.8 GB is available; ...") instead of
meeting the kernel's OOM killer or numpy's ``_ArrayMemoryError``.

:data:`BYTES_PER_PIXEL` is the peak resident memory per pixel of each command, measured on 16-bit
RGB TIFFs by ``benchmarks/bench_memory.py`` (the growth of peak RSS with the pixel count) and
rounded up by 20 %; :data:`FIXED_BYTES` is the part that does not grow.
"""

from __future__ import annotations

import os
import resource
from pathlib import Path

from regrain.errors import ImageFileError, ParameterError

__all__ = ["BYTES_PER_PIXEL", "FIXED_BYTES", "available_bytes", "check_memory", "job_bytes"]

BYTES_PER_PIXEL: dict[str, int] = {
    "read": 22,
    "convert": 35,
    "split": 65,
    "merge": 56,
    "grain": 48,
    "blend": 51,
    "graft": 43,
    "luminosity": 51,
    "restore": 48,
    "inspect": 24,
}
"""Memory per pixel of each pipeline at its peak, in bytes, for a 16-bit RGB image: the growth
of peak RSS from 4 to 16 MP measured by ``benchmarks/bench_memory.py``, plus 20 %."""

FIXED_BYTES = 300_000_000
"""What a job needs whatever the image size (libraries loaded on first use: OpenCV, tifffile,
Dask; fixed buffers): the largest measured, about 250 MB, plus 20 %."""

_HINT = "close other programs, work on a smaller crop, or use a machine with more memory"


def check_job(job: str) -> str:
    """*job* if :data:`BYTES_PER_PIXEL` knows it, else ParameterError listing the known jobs."""
    if job not in BYTES_PER_PIXEL:
        raise ParameterError(
            f"unknown job {job!r}; expected one of: {', '.join(sorted(BYTES_PER_PIXEL))}"
        )
    return job


def job_bytes(job: str) -> int:
    """Bytes per pixel that *job* needs at its peak."""
    return BYTES_PER_PIXEL[check_job(job)]


def available_bytes() -> int | None:
    """Memory this process may still use, in bytes: the smallest of the cgroup's room (v2
    ``memory.max - memory.current``, or v1's limit minus usage), ``/proc/meminfo``'s MemAvailable
    and ``RLIMIT_AS`` minus the address space already mapped. None when nothing can be read."""
    limits = [x for x in (_cgroup_room(), _meminfo_available(), _address_room()) if x is not None]
    return max(0, min(limits)) if limits else None


def check_memory(path: str | os.PathLike[str], pixels: int, bytes_per_pixel: float,
                 what: str = "this job", *, fixed: int = 0) -> None:  # fmt: skip
    """Raise ImageFileError naming *path* when *fixed* + *pixels* x *bytes_per_pixel* exceeds
    what :func:`available_bytes` says is free."""
    need = int(fixed + pixels * bytes_per_pixel)
    have = available_bytes()
    if have is None or need <= have:
        return
    raise ImageFileError(
        path,
        f"{pixels / 1e6:.0f} MP needs about {_size(need)} for {what}; {_size(have)} is available; "
        + _HINT,
    )


def _size(n: float) -> str:
    if n >= 1e9:
        return f"{n / 1e9:.1f} GB"
    return f"{n / 1e6:.0f} MB"


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except (OSError, ValueError):
        return None
    if not text or text == "max":
        return None
    try:
        return int(text)
    except ValueError:
        return None


def _cgroup_room(
    root: Path = Path("/sys/fs/cgroup"), membership: Path = Path("/proc/self/cgroup")
) -> int | None:
    """Limit minus usage of this process's memory cgroup (v2 unified, else v1), or None."""
    try:
        lines = membership.read_text().splitlines()
    except OSError:
        return None
    rooms = []
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, rel = parts
        rel = rel.lstrip("/")
        if controllers == "":  # v2: walk up, each ancestor's limit applies too
            here = root / rel
            while True:
                limit = _read_int(here / "memory.max")
                used = _read_int(here / "memory.current")
                if limit is not None and used is not None:
                    rooms.append(limit - used)
                if here == root or root not in here.parents:
                    break
                here = here.parent
        elif "memory" in controllers.split(","):
            for base in (root / "memory" / rel, root / "memory"):
                limit = _read_int(base / "memory.limit_in_bytes")
                used = _read_int(base / "memory.usage_in_bytes")
                if limit is not None and used is not None and limit < 1 << 60:
                    rooms.append(limit - used)
                    break
    return min(rooms) if rooms else None


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _address_room() -> int | None:
    """RLIMIT_AS minus the current VmSize (what ``ulimit -v`` still allows), or None."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return soft - int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None
