"""Semantic checks of platform.yaml."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator
from typing import Any

from runtime.definitions._wording import did_you_mean
from runtime.definitions.errors import Issue


def check_platform(data: dict[str, Any]) -> Iterator[Issue]:
    timezone = data.get("timezone")
    if timezone is not None and not _is_timezone(timezone):
        hint = did_you_mean(timezone, sorted(zoneinfo.available_timezones()))
        yield Issue(("timezone",), f"unknown timezone '{timezone}'{hint}")


def _is_timezone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return not zoneinfo.available_timezones()  # no tz database here: cannot tell
    return True
