"""Input values → typed Python values, one parser per field type, and the checks of a field's
options (lengths, pattern, choices, bounds, decimal places) as pure functions of the value.

`runtime.fields.table` says which parser and which checks each type has; these functions
know no field types themselves.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
INT_MIN, INT_MAX = -(2**31), 2**31 - 1  # an `integer` column is 32 bits on PostgreSQL
URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)


def kind_of(value: Any) -> str:
    """The filter grammar's words for a value ('text', 'a number'), for error messages only:
    imported here, late, because runtime.filters pulls in Piccolo and `plinth check` reads
    this package without it."""
    from runtime.filters.ast import kind_of as words

    return words(value)


class Invalid(ValueError):
    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


def datetime_value(raw: Any) -> dt.datetime:
    """An ISO 8601 date-time with a time zone → the same instant in UTC."""
    if isinstance(raw, dt.datetime):
        value = raw
    elif isinstance(raw, str):
        try:
            value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise Invalid("type", f"expected an ISO 8601 date-time, got {raw!r}") from None
    else:
        raise Invalid("type", f"expected an ISO 8601 date-time, got {kind_of(raw)}")
    if value.tzinfo is None:
        raise Invalid("timezone", "a date-time needs a time zone (e.g. 'Z' or '+02:00')")
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:  # 0001-01-01T00:00+05:00 is before the first UTC date-time
        raise Invalid("type", f"the date-time {raw!s} is out of range in UTC") from None


def date_value(raw: Any) -> dt.date:
    if isinstance(raw, dt.datetime):  # e.g. $now: a date-time is not a date
        raise Invalid("type", f"expected a date YYYY-MM-DD, got {raw.isoformat()}")
    try:
        return raw if isinstance(raw, dt.date) else dt.date.fromisoformat(raw)
    except (TypeError, ValueError):
        raise Invalid("type", f"expected a date YYYY-MM-DD, got {raw!r}") from None


def time_value(raw: Any) -> dt.time:
    try:
        value = raw if isinstance(raw, dt.time) else dt.time.fromisoformat(raw)
    except (TypeError, ValueError):
        raise Invalid("type", f"expected a time HH:MM[:SS], got {raw!r}") from None
    if value.tzinfo is not None:
        raise Invalid("timezone", f"a time has no time zone, got {raw!s}")
    return value


def as_uuid(raw: object) -> uuid.UUID | None:
    """`raw` as a UUID, or None when it is not one: a UUID as is, anything else by its text
    (`"1b4e28ba-2fa1-11d2-883f-0016d3cca427"`, also without dashes or in braces)."""
    try:
        return raw if isinstance(raw, uuid.UUID) else uuid.UUID(str(raw))
    except ValueError:
        return None


def uuid_value(raw: Any) -> uuid.UUID:
    value = as_uuid(raw)
    if value is None:
        raise Invalid("type", f"expected a UUID, got {raw!r}")
    return value


NUMBERS = {int: "an integer", Decimal: "a decimal number", float: "a number"}


def _number(raw: Any, kind: type) -> Any:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str | Decimal):
        raise Invalid("type", f"expected {NUMBERS[kind]}, got {kind_of(raw)}")
    value: int | float | Decimal
    try:
        if kind is int:
            if isinstance(raw, float) and not raw.is_integer():
                raise ValueError
            value = int(raw) if not isinstance(raw, str) else int(raw.strip())
        else:
            value = Decimal(str(raw)) if kind is Decimal else float(raw)
    except (ValueError, InvalidOperation):
        raise Invalid("type", f"expected {NUMBERS[kind]}, got {raw!r}") from None
    if isinstance(value, int):
        if not INT_MIN <= value <= INT_MAX:
            raise Invalid("type", f"expected an integer from {INT_MIN} to {INT_MAX}, got {value}")
        return value
    finite = value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)
    if not finite:
        raise Invalid("type", f"expected a finite number, got {raw!r}")
    return value


def integer(raw: Any) -> int:
    value: int = _number(raw, int)
    return value


def floating(raw: Any) -> float:
    value: float = _number(raw, float)
    return value


def decimal(raw: Any) -> Decimal:
    value: Decimal = _number(raw, Decimal)
    return value


def text(raw: Any) -> str:
    """A string a database can hold: UTF-8 without NUL (PostgreSQL refuses both)."""
    if not isinstance(raw, str):
        raise Invalid("type", f"expected a string, got {kind_of(raw)}")
    if "\x00" in raw:
        raise Invalid("type", "text cannot contain the NUL character (\\u0000)")
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError as error:  # a lone surrogate, e.g. from JSON "\ud800"
        bad = raw[error.start]
        raise Invalid("type", f"text cannot contain a lone surrogate ({bad!r})") from None
    return raw


def boolean(raw: Any) -> bool:
    """true/false, or their spellings in a query string (true, 1, yes / false, 0, no)."""
    if isinstance(raw, str) and raw.strip().lower() in ("true", "1", "yes", "false", "0", "no"):
        return raw.strip().lower() in ("true", "1", "yes")
    if not isinstance(raw, bool):
        raise Invalid("type", f"expected true or false, got {raw!r}")
    return raw


def strict_boolean(raw: Any) -> bool:
    """true or false only: a written value is JSON, not a query string."""
    if not isinstance(raw, bool):
        raise Invalid("type", f"expected true or false, got {raw!r}")
    return raw


def json_text(raw: Any) -> str:
    """A json field's value → the JSON text rows hold for it, as the database gives it back
    ('{"a": 1}', '"hello"'); `json_value` turns it back into the value."""
    try:  # what a JSON column can hold: no NaN, no Infinity, no Python objects
        encoded = json.dumps(raw, allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError):
        raise Invalid("type", f"expected a JSON value, got {raw!r}") from None
    if _has_nul(raw):  # PostgreSQL's jsonb cannot hold \u0000
        raise Invalid("type", "text cannot contain the NUL character (\\u0000)")
    return text(encoded)  # no NUL, no lone surrogate anywhere inside


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def check_text(value: str, longest: int | None, shortest: int | None, pattern: str | None) -> None:
    if longest is not None and len(value) > longest:
        raise Invalid("max_length", f"at most {longest} characters, got {len(value)}")
    if shortest is not None and len(value) < shortest:
        raise Invalid("min_length", f"at least {shortest} characters, got {len(value)}")
    if pattern and not re.fullmatch(pattern, value):
        raise Invalid("pattern", f"does not match the pattern {pattern}")


def check_email(value: str) -> None:
    if not EMAIL.match(value):
        raise Invalid("email", f"{value!r} is not an email address")


def check_url(value: str) -> None:
    if not URL.match(value):
        raise Invalid("url", f"{value!r} is not an http(s) URL")


def check_choice(value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise Invalid("choice", f"{value!r} is not one of: {', '.join(choices)}")


def check_range(value: float | Decimal, low: float | None, high: float | None) -> None:
    if low is not None and value < low:
        raise Invalid("min", f"must be at least {low}, got {value}")
    if high is not None and value > high:
        raise Invalid("max", f"must be at most {high}, got {value}")


def check_decimal(value: Decimal, digits: int, places: int) -> None:
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    if -exponent > places:
        raise Invalid("places", f"at most {places} decimal places, got {value}")
    whole = value.adjusted() + 1  # digits before the point (99999999.99 → 8, 0.5 → 0)
    if value.copy_abs() >= 1 and whole > digits - places:
        raise Invalid("digits", f"at most {digits - places} digits before the point, got {value}")
