"""Keep the large blocks each evaluation frees for the next one (glibc only; the command line's choice)."""

from __future__ import annotations

import ctypes

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)


def reuse_freed_memory() -> bool:
    """Ask glibc's allocator to keep freed blocks of up to 1 GiB for reuse instead of handing them
    back to the system. Every evaluation allocates and frees the same large activations; by default
    each one above 32 MB is a fresh mmap whose pages are faulted in and zeroed again: about 8 % of a
    512 px evaluation on the CPU here (bench/README.md). The peak stays what it was; the process only
    keeps it until it exits. The setting is process-wide, so the command line makes it, not the
    library. Returns whether the allocator took it (False off glibc: macOS, Windows; musl ignores it)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, TypeError):  # TypeError: Windows has no CDLL(None)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return bool(mallopt(_M_MMAP_THRESHOLD, 2**30)) and bool(mallopt(_M_TRIM_THRESHOLD, 2**31 - 1))
