"""Input values → typed Python values, checked against their field; rows → JSON-ready dicts."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import uuid
from decimal import Decimal, InvalidOperation
from difflib import get_close_matches
from typing import Any

from runtime.definitions.model import Entity, Field
from runtime.filters.ast import kind_of
from runtime.service.errors import FieldError

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TEXTUAL = ("string", "text", "email", "url")  # required: blank text is missing text
INT_MIN, INT_MAX = -(2**31), 2**31 - 1  # an `integer` column is 32 bits on PostgreSQL
URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)


class Invalid(ValueError):
    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


def _datetime(raw: Any) -> dt.datetime:
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


NUMBERS = {int: "an integer", Decimal: "a decimal number", float: "a number"}


def _number(raw: Any, kind: type) -> Any:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str | Decimal):
        raise Invalid("type", f"expected {NUMBERS[kind]}, got {kind_of(raw)}")
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


def coerce(field: Field, raw: Any) -> Any:
    """One field's input → its Python value, or Invalid. None passes (required is separate)."""
    value = parse(field, raw)
    if value is not None:
        _check_bounds(field, value)
    return value


def parse(field: Field, raw: Any) -> Any:
    """One field's input → a value of its type, or Invalid; the field's options (bounds,
    lengths, pattern, choices, decimal places) are not checked: filter operands use this."""
    if raw is None:
        return None
    match field.type:
        case "string" | "text" | "email" | "url" | "enum" | "file":
            value: Any = text(raw)
        case "integer":
            value = _number(raw, int)
        case "float":
            value = _number(raw, float)
        case "decimal":
            value = _number(raw, Decimal)
        case "boolean":
            if not isinstance(raw, bool):
                raise Invalid("type", f"expected true or false, got {raw!r}")
            value = raw
        case "datetime":
            value = _datetime(raw)
        case "date":
            if isinstance(raw, dt.datetime):  # e.g. $now: a date-time is not a date
                raise Invalid("type", f"expected a date YYYY-MM-DD, got {raw.isoformat()}")
            try:
                value = raw if isinstance(raw, dt.date) else dt.date.fromisoformat(raw)
            except (TypeError, ValueError):
                raise Invalid("type", f"expected a date YYYY-MM-DD, got {raw!r}") from None
        case "time":
            try:
                value = raw if isinstance(raw, dt.time) else dt.time.fromisoformat(raw)
            except (TypeError, ValueError):
                raise Invalid("type", f"expected a time HH:MM[:SS], got {raw!r}") from None
            if value.tzinfo is not None:
                raise Invalid("timezone", f"a time has no time zone, got {raw!s}")
        case "uuid" | "reference":
            try:
                value = raw if isinstance(raw, uuid.UUID) else uuid.UUID(str(raw))
            except ValueError:
                raise Invalid("type", f"expected a UUID, got {raw!r}") from None
        case "json":
            value = json_text(raw)
        case _:
            raise Invalid("type", f"unsupported type {field.type}")
    return value


def _check_bounds(field: Field, value: Any) -> None:
    if field.type == "enum" and value not in field.choice_values:
        allowed = ", ".join(field.choice_values)
        raise Invalid("choice", f"{value!r} is not one of: {allowed}")
    if isinstance(value, str):
        limit = field.max_length or (255 if field.type in ("string", "email", "url") else None)
        if limit is not None and len(value) > limit:
            raise Invalid("max_length", f"at most {limit} characters, got {len(value)}")
        if field.min_length is not None and len(value) < field.min_length:
            raise Invalid("min_length", f"at least {field.min_length} characters, got {len(value)}")
        if field.pattern and not re.fullmatch(field.pattern, value):
            raise Invalid("pattern", f"does not match the pattern {field.pattern}")
        if field.type == "email" and not EMAIL.match(value):
            raise Invalid("email", f"{value!r} is not an email address")
        if field.type == "url" and not URL.match(value):
            raise Invalid("url", f"{value!r} is not an http(s) URL")
    if isinstance(value, Decimal):
        _check_decimal(field, value)
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        if field.min is not None and value < field.min:
            raise Invalid("min", f"must be at least {field.min}, got {value}")
        if field.max is not None and value > field.max:
            raise Invalid("max", f"must be at most {field.max}, got {value}")


def _check_decimal(field: Field, value: Decimal) -> None:
    places = field.places if field.places is not None else 2
    digits = field.digits or 12
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    if -exponent > places:
        raise Invalid("places", f"at most {places} decimal places, got {value}")
    whole = value.adjusted() + 1  # digits before the point (99999999.99 → 8, 0.5 → 0)
    if value.copy_abs() >= 1 and whole > digits - places:
        raise Invalid("digits", f"at most {digits - places} digits before the point, got {value}")


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


def default_value(field: Field, user_id: uuid.UUID | None) -> Any:
    if field.type == "json" and field.default is not None:
        return json_text(field.default)
    match field.default:
        case "$now":
            return dt.datetime.now(dt.UTC)
        case "$today":
            return dt.date.today()
        case "$user":
            return user_id
    return field.default


def clean_values(
    entity: Entity, raw: dict[str, Any], *, is_create: bool
) -> tuple[dict[str, Any], list[FieldError]]:
    """Coerce and check every given field; on create also `required`. All errors at once."""
    values: dict[str, Any] = {}
    errors: list[FieldError] = []
    for name, given in raw.items():
        field = entity.field(name)
        if field is None:
            visible = [f.name for f in entity.fields if not f.hidden]
            close = get_close_matches(str(name), visible, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            errors.append(FieldError(name, "unknown", f"{entity.name} has no field '{name}'{hint}"))
            continue
        try:
            values[name] = coerce(field, given)
        except Invalid as error:
            errors.append(FieldError(name, error.code, str(error)))
    refused = {e.field for e in errors}
    for field in entity.fields:
        if not field.required or field.name in refused:
            continue
        value = values.get(field.name)
        blank = value is None or (field.type in TEXTUAL and not value.strip())
        missing = blank and (is_create or field.name in raw)
        defaulted = is_create and field.has_default and field.name not in raw
        if missing and not defaulted:
            errors.append(FieldError(field.name, "required", "this field is required"))
    return values, errors


def json_value(stored: Any) -> Any:
    """A json column as read (JSON text: '{"a": 1}', '"hello"') → its value."""
    if not isinstance(stored, str):
        return stored  # SQLite hands numbers back as numbers
    try:
        return json.loads(stored)
    except ValueError:
        return stored  # not JSON: written before values were checked


_PLAIN = frozenset({str, int, float, bool, type(None)})


def to_json(value: Any) -> Any:
    if type(value) in _PLAIN:  # most values: no conversion (the write path's hot spot)
        return value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value
