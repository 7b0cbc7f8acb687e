"""Whether a field's `default` fits the field: its type, choices and bounds.

The rules follow what the record service accepts as input (runtime.fields), so a default
that passes here is never refused when a record is created.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from runtime.definitions._wording import a_field, did_you_mean, one_of, show_value
from runtime.fields import EMAIL, URL, default_max_length

SPECIAL_DEFAULTS = {
    "$now": ("datetime", "date", "time"),
    "$today": ("date",),
    "$user": ("reference",),
}
_TEXT_TYPES = ("string", "text", "email", "url", "uuid")
_ISO_EXAMPLES = {
    "date": ("'2024-01-31'", "'$today'"),
    "datetime": ("'2024-01-31T09:30:00Z'", "'$now'"),
    "time": ("'09:30'", "'$now'"),
}


def default_problem(kind: str, spec: dict[str, Any]) -> str | None:
    """None when `spec["default"]` fits a field of type `kind` with the options in `spec`."""
    default = spec["default"]
    if default is None:
        return None
    if isinstance(default, str) and default.startswith("$"):
        return _special_problem(kind, default, spec)
    if kind == "enum":
        values = list(spec["choices"])
        if default not in values:
            hint = did_you_mean(default, values)
            return f"default {show_value(default)} is not one of the choices {one_of(values)}{hint}"
        return None
    if kind == "reference":
        return "a reference's default can only be '$user'"
    if kind in _ISO_EXAMPLES:
        return _iso_problem(kind, default)
    if kind in _TEXT_TYPES:
        return _text_problem(kind, default, spec)
    if kind in ("integer", "float", "decimal"):
        return _number_problem(kind, default, spec)
    if kind == "boolean" and not isinstance(default, bool):
        return f"default must be true or false, got {show_value(default)}"
    return None


def _special_problem(kind: str, default: str, spec: dict[str, Any]) -> str | None:
    fits = SPECIAL_DEFAULTS.get(default)
    if fits is None:
        hint = did_you_mean(default, SPECIAL_DEFAULTS)
        return f"unknown default '{default}'{hint}: use a literal, $now, $today or $user"
    if kind not in fits:
        return f"default '{default}' does not fit {a_field(kind)} (it fits {one_of(fits)} fields)"
    if default == "$user" and spec.get("to") != "User":
        return "default '$user' needs a reference to User"
    return None


def _iso_problem(kind: str, default: Any) -> str | None:
    example, special = _ISO_EXAMPLES[kind]
    wrong = f"default must be an ISO {kind} like {example} or {special}, got {show_value(default)}"
    if not isinstance(default, str):
        return wrong
    try:
        if kind == "date":
            date.fromisoformat(default)
        elif kind == "time":
            time.fromisoformat(default)
        elif datetime.fromisoformat(default).tzinfo is None:
            return f"default {show_value(default)} needs a time zone, like 'Z' or '+02:00'"
    except ValueError:
        return wrong
    return None


def _text_problem(kind: str, default: Any, spec: dict[str, Any]) -> str | None:
    if not isinstance(default, str):
        return f"default must be text, got {show_value(default)}"
    shown = show_value(default)
    longest = spec.get("max_length", default_max_length(kind))
    if longest is not None and len(default) > longest:
        return f"default {shown} is longer than 'max_length' ({longest})"
    if len(default) < spec.get("min_length", 0):
        return f"default {shown} is shorter than 'min_length' ({spec['min_length']})"
    pattern = spec.get("pattern")
    try:
        if pattern is not None and not re.fullmatch(pattern, default):
            return f"default {shown} does not match 'pattern' ({pattern})"
    except re.error:
        return None  # the pattern itself is reported
    if kind == "email" and not EMAIL.match(default):
        return f"default {shown} is not an email address"
    if kind == "url" and not URL.match(default):
        return f"default {shown} is not an http(s) URL"
    if kind == "uuid":
        try:
            uuid.UUID(default)
        except ValueError:
            return f"default {shown} is not a UUID"
    return None


def _number_problem(kind: str, default: Any, spec: dict[str, Any]) -> str | None:
    is_number = isinstance(default, int | float) and not isinstance(default, bool)
    if kind == "integer" and not (is_number and float(default).is_integer()):
        return f"default must be an integer, got {show_value(default)}"
    if not is_number:
        return f"default must be a number, got {show_value(default)}"
    if "min" in spec and default < spec["min"]:
        return f"default {default} is less than 'min' ({spec['min']})"
    if "max" in spec and default > spec["max"]:
        return f"default {default} is more than 'max' ({spec['max']})"
    if kind == "decimal":
        return _decimal_problem(default, spec)
    return None


def _decimal_problem(default: float, spec: dict[str, Any]) -> str | None:
    digits, places = spec.get("digits"), spec.get("places")
    _, numerals, exponent = Decimal(str(default)).normalize().as_tuple()
    if not isinstance(exponent, int):
        return f"default must be a finite number, got {default}"
    after_point = max(-exponent, 0)
    before_point = max(len(numerals) + exponent, 0)
    if places is not None and after_point > places:
        return f"default {default} has more decimal places than 'places' ({places})"
    if digits is not None and before_point > digits - (places or 0):
        return f"default {default} has more digits than 'digits' ({digits}) allows"
    return None
