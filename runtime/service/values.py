"""Input values → typed Python values, checked against their field; rows → JSON-ready dicts.

The coercion itself lives in the field-type table (runtime.fields); this module is where the
service calls it, and keeps the names it has always exported."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from typing import Any

import orjson

from runtime.definitions.model import Entity, Field
from runtime.fields import TYPES, Invalid, boolean, coerce, json_text, parse, text
from runtime.limits import limits
from runtime.service.errors import FieldError
from runtime.suggest import did_you_mean


def default_value(field: Field, user_id: uuid.UUID | None, today: dt.date) -> Any:
    """The value a create gives a field it was not sent (`today`: the platform's date)."""
    if field.type == "json" and field.default is not None:
        return json_text(field.default)
    match field.default:
        case "$now":
            return dt.datetime.now(dt.UTC)
        case "$today":
            return today
        case "$user":
            return user_id
    return field.default


def clean_values(
    entity: Entity, raw: dict[str, Any], *, is_create: bool
) -> tuple[dict[str, Any], list[FieldError]]:
    """Coerce and check every given field; on create also `required`. All errors at once."""
    values: dict[str, Any] = {}
    errors: list[FieldError] = []
    unknown = _Unknown(entity)
    for name, given in raw.items():
        field = entity.field(name)
        if field is None:
            errors.extend(unknown.error(name))
            continue
        try:
            values[name] = coerce(field, given)
        except Invalid as error:
            errors.append(FieldError(name, error.code, str(error)))
    errors.extend(unknown.more())
    refused = {e.field for e in errors}
    for field in entity.fields:
        if not field.required or field.name in refused:
            continue
        if field.type == "file" and is_create:
            continue  # a file is uploaded to the record once it exists
        value = values.get(field.name)
        kind = TYPES.get(field.type)
        blank = value is None or (kind is not None and kind.text_like and not value.strip())
        missing = blank and (is_create or field.name in raw)
        defaulted = is_create and field.has_default and field.name not in raw
        if missing and not defaulted:
            errors.append(FieldError(field.name, "required", "this field is required"))
    return values, errors


class _Unknown:
    """The errors of unknown keys: one each up to the limit, then one "and N more", with no
    suggestion work (nor a huge answer) for a body of a million unknown keys."""

    def __init__(self, entity: Entity) -> None:
        self.entity, self.seen, self.cap = entity, 0, limits().errors

    def error(self, name: Any) -> list[FieldError]:
        self.seen += 1
        if self.seen > self.cap:
            return []
        hint = did_you_mean(str(name), [f.name for f in self.entity.fields if not f.hidden])
        return [FieldError(name, "unknown", f"{self.entity.name} has no field '{name}'{hint}")]

    def more(self) -> list[FieldError]:
        extra = self.seen - self.cap
        if extra <= 0:
            return []
        return [FieldError("*", "too_many_errors", f"and {extra} more unknown fields")]


def json_value(stored: Any) -> Any:
    """A json column as read (JSON text: '{"a": 1}', '"hello"') → its value."""
    if not isinstance(stored, str):
        return stored  # SQLite hands numbers back as numbers
    try:
        return json.loads(stored)
    except ValueError:
        return stored  # not JSON: written before values were checked


_PLAIN = frozenset({str, int, float, bool, type(None)})
_UTC_ISO = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC  # a naive datetime is UTC


def to_json(value: Any) -> Any:
    if type(value) in _PLAIN:  # most values: no conversion (the write path's hot spot)
        return value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None and value.tzinfo is not dt.UTC:
            value = value.astimezone(dt.UTC)
        # ISO 8601 in UTC with a Z, as isoformat() spells it: orjson does it 4x faster
        return orjson.dumps(value, option=_UTC_ISO)[1:-1].decode()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def json_dumps(value: Any) -> str:
    """JSON text of `value`, whose values may still be typed (UUID, datetime, Decimal): each
    written as `to_json` writes it, without a JSON-ready copy of every row first."""
    return orjson.dumps(value, default=to_json, option=orjson.OPT_PASSTHROUGH_DATETIME).decode()


__all__ = [
    "Invalid",
    "boolean",
    "clean_values",
    "coerce",
    "default_value",
    "json_dumps",
    "json_text",
    "json_value",
    "parse",
    "text",
    "to_json",
]
