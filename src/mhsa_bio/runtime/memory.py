"""Where large CPU tensors come from: glibc's heap instead of a fresh ``mmap`` each time.

Loops that allocate and free tensors of tens of megabytes on every pass (a fit's coupling table
and its gradient; a batch's attention weights, (B, layers, H, T, T)) pay, under glibc's defaults,
a page fault for every 4 kB of each one: blocks above the mmap threshold are mapped afresh when
allocated and unmapped when freed. ``heap_allocations`` keeps them on the heap for the length of
a block, so that what one pass frees the next one reuses.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

# glibc's mallopt parameters
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_MMAP_MAX = -1, -3, -4
_depth, _active = 0, False  # open heap_allocations blocks, and whether the outermost one took


@contextlib.contextmanager
def heap_allocations() -> Iterator[bool]:
    """Within the block, glibc serves large allocations from the heap and keeps what is freed.

    The heap is neither trimmed nor bypassed while the block runs; on exit glibc's default values
    are set again (its dynamic mmap threshold, which only ever rises to 32 MiB, stays off, as
    after any ``mallopt``) and the heap is trimmed. The cost is memory: what the block frees stays
    with the process until the block ends, so its peak resident size is higher (see docs/scan.md).
    Blocks nest: only the outermost one sets and restores (the count is process-wide: open
    blocks from one Python thread at a time). Yields whether the setting took (False off glibc,
    where nothing changes).
    """
    global _depth, _active
    if _depth:  # nested: the outermost block sets and restores
        _depth += 1
        try:
            yield _active
        finally:
            _depth -= 1
        return
    libc = None
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    if libc is None or not hasattr(libc, "mallopt") or not hasattr(libc, "malloc_trim"):
        yield False
        return
    ok = bool(libc.mallopt(_M_MMAP_MAX, 0)) and bool(libc.mallopt(_M_TRIM_THRESHOLD, 2**31 - 1))
    _depth, _active = 1, ok
    try:
        yield ok
    finally:
        _depth = 0
        libc.mallopt(_M_MMAP_MAX, 65536)  # glibc's defaults
        libc.mallopt(_M_MMAP_THRESHOLD, 128 * 1024)
        libc.mallopt(_M_TRIM_THRESHOLD, 128 * 1024)
        libc.malloc_trim(0)


#: Set to 0 (or off, no, false) to leave glibc's defaults alone: a lower peak memory, slower.
HEAP_ENV = "MHSA_BIO_HEAP"


def cpu_heap(device: torch.device | str) -> Any:
    """``heap_allocations()`` when ``device`` is the CPU, unless the environment variable
    ``MHSA_BIO_HEAP`` is 0 / off / no / false; a no-op context otherwise (CUDA tensors come from
    torch's caching allocator)."""
    kind = device if isinstance(device, str) else device.type
    off = os.environ.get(HEAP_ENV, "1").strip().lower() in ("0", "off", "no", "false")
    if kind.split(":")[0] != "cpu" or off:
        return contextlib.nullcontext(False)
    return heap_allocations()
