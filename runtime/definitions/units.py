"""Durations (`2s`, `10m`, `8h`) and sizes (`10MB`) as written in definitions."""

from __future__ import annotations

import re

_DURATION = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)$")
_SIZE = re.compile(r"^([0-9]+) ?(B|KB|MB|GB)$")
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
_BYTES = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}


def parse_duration(value: str | float) -> float:
    """Seconds in a duration: `"10m"` → `600.0`; a bare number is already seconds.

    Raises ValueError for anything else (the schema refuses such values first).
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    match = _DURATION.match(str(value))
    if match is None:
        raise ValueError(f"not a duration: {value!r} (expected e.g. 2s, 10m, 8h)")
    return float(match.group(1)) * _SECONDS[match.group(2)]


def parse_size(value: str | int) -> int:
    """Bytes in a size: `"10MB"` → `10485760` (binary units); a bare integer is bytes."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = _SIZE.match(str(value))
    if match is None:
        raise ValueError(f"not a size: {value!r} (expected e.g. 500KB, 10MB)")
    return int(match.group(1)) * _BYTES[match.group(2)]
