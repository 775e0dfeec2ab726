"""Keep freed image buffers inside the process, so the next stage reuses them without page faults.

glibc serves every allocation above 32 MB (a 24 MP float plane is 96 MB) with its own ``mmap``
and gives it back to the kernel on ``free``; the next plane of the same size is fresh memory,
and on this kind of virtual machine fresh memory costs more than the work done on it (measured:
a 24 MP restore through the CLI spent 2.9 s of system time in 75,500 page faults, and 1.2 s in
33,900 with the setting below; see ``benchmarks/bench_speed.py``). Turning ``mmap`` off for the
allocator (``M_MMAP_MAX = 0``) and never trimming the heap (``M_TRIM_THRESHOLD``) makes freed
planes go back to the heap, where the next one is carved from pages already mapped.

Only one-shot commands call :func:`keep_freed_memory`: the process ends after one image, so the
memory it keeps is never more than its own peak. Long-lived processes (a batch's workers, a
program using the library) keep glibc's defaults. Elsewhere than glibc on Linux it does nothing.
"""

from __future__ import annotations

import ctypes
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
_NEVER_TRIM = 2**31 - 1  # mallopt takes an int: 2 GB of free heap top before trimming


def keep_freed_memory() -> bool:
    """Ask glibc to keep freed memory for reuse (see the module docstring). Returns whether the
    allocator took the setting (False off glibc or off Linux: nothing changed)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, _NEVER_TRIM))
