"""How glibc's allocator treats the large blocks each evaluation frees (the command line's choice).

Two modes, chosen by the memory plan (memory.Plan.reuse) for each synthesis once the command line has
called manage():

- reuse: keep freed blocks of up to 1 GiB for the next evaluation. By default glibc maps every block
  above 32 MB afresh and the kernel faults in and zeroes its pages again on every evaluation: about 8 %
  of an evaluation at 512 px here. The price is fragmentation: the process holds 1.5-1.8 x what the
  compact mode holds at 1024-2048 px (bench/README.md: Memory and large images).
- compact: blocks of 32 MiB and more are mapped afresh and handed back when freed, and what the heap
  holds free is returned now: the run holds close to what it needs. Used when the reuse mode would not
  fit in memory.

The setting is process-wide, so only a program that owns its process (the command line, the benches)
turns it on; a library caller's allocator is left alone.
"""

from __future__ import annotations

import ctypes
import functools

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)
REUSE_LIMIT = 2**30  # reuse: blocks up to this size stay in the heap when freed
COMPACT_LIMIT = 32 * 2**20  # compact: blocks from this size on are their own mappings
_managed = False
_mode: str | None = None


@functools.lru_cache(maxsize=1)
def _libc():
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt, libc.malloc_trim  # noqa: B018 (absent off glibc)
    except (OSError, AttributeError, TypeError):  # TypeError: Windows has no CDLL(None)
        return None
    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    libc.malloc_trim.argtypes = [ctypes.c_size_t]
    return libc


def manage() -> bool:
    """Let the memory plan choose the allocator's mode from now on (starting with reuse). Returns
    whether the allocator takes the setting (False off glibc: macOS, Windows; musl ignores it)."""
    global _managed
    _managed = _libc() is not None
    return use(True) if _managed else False


def use(reuse: bool) -> bool:
    """Switch to the reuse or the compact mode; nothing unless manage() was called. Returns whether
    the mode is set."""
    global _mode
    libc = _libc() if _managed else None
    if libc is None:
        return False
    mode = "reuse" if reuse else "compact"
    if mode == _mode:
        return True
    if reuse:
        ok = libc.mallopt(_M_MMAP_THRESHOLD, REUSE_LIMIT) and libc.mallopt(_M_TRIM_THRESHOLD, 2**31 - 1)
    else:
        ok = libc.mallopt(_M_MMAP_THRESHOLD, COMPACT_LIMIT) and libc.mallopt(_M_TRIM_THRESHOLD, COMPACT_LIMIT)
        libc.malloc_trim(0)  # hand back what the heap holds free (earlier, larger runs' blocks)
    _mode = mode if ok else None
    return bool(ok)


def mode() -> str | None:
    """"reuse", "compact", or None when the allocator is not managed."""
    return _mode
