"""Give freed heap memory back to the operating system between the stages of a long analysis.

A Holter's stages free hundreds of MB of mid-sized arrays (per chunk, per block). glibc keeps such
freed memory in its heap, where a later stage's larger arrays cannot reuse it, so the process's
resident memory climbs stage after stage although little is alive. `release_freed_memory` asks
glibc to return it (``malloc_trim(0)``, as Dask's workers do for "unmanaged memory"). Elsewhere (macOS,
musl) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache


@cache
def _malloc_trim():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):
        return None


def release_freed_memory() -> bool:
    """Return freed heap memory to the OS where the C library can (glibc); True if it did."""
    trim = _malloc_trim()
    return bool(trim(0)) if trim is not None else False
