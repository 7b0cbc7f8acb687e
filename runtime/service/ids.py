"""New row ids for the write path: time-ordered UUIDs (version 7, RFC 9562), so the primary
keys and the timeline's and outbox's indexes on ids take each new row at their right edge
instead of on a random page (bench/bench_import.py: an import writes three per row).

The 48-bit millisecond timestamp leads; the 74 random bits come from `os.urandom`, drawn in
blocks (one system call per `_BLOCK` ids, not one per id as `uuid.uuid4`); a forked child
draws its own, never its parent's."""

from __future__ import annotations

import os
import time
import uuid

_BLOCK = 512  # ids per os.urandom call
_RANDOM_BYTES = 10  # 80 bits drawn, 74 used
_VERSION_VARIANT = (0x7 << 76) | (0b10 << 62)
_LOW_62 = (1 << 62) - 1

_pool: list[int] = []


def new_id() -> uuid.UUID:
    """A version-7 UUID: milliseconds since the epoch, then random bits."""
    while True:
        try:
            bits = _pool.pop()  # atomic: two threads never take the same bits
            break
        except IndexError:
            _refill()
    ms = time.time_ns() // 1_000_000
    return uuid.UUID(int=(ms << 80) | _VERSION_VARIANT | ((bits >> 62) << 64) | (bits & _LOW_62))


def _refill() -> None:
    block = os.urandom(_RANDOM_BYTES * _BLOCK)
    _pool.extend(
        int.from_bytes(block[i : i + _RANDOM_BYTES]) >> 6
        for i in range(0, len(block), _RANDOM_BYTES)
    )


os.register_at_fork(after_in_child=_pool.clear)
