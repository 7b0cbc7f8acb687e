"""A field's input → its Python value, through the row of its type in the field-type table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runtime.fields.table import TYPES
from runtime.fields.values import Invalid

if TYPE_CHECKING:
    from runtime.definitions.model import Field


def parse(field: Field, raw: Any) -> Any:
    """One field's input → a value of its type, or Invalid; the field's options (bounds,
    lengths, pattern, choices, decimal places) are not checked: filter operands use this."""
    if raw is None:
        return None
    kind = TYPES.get(field.type)
    if kind is None:
        raise Invalid("type", f"unsupported type {field.type}")
    return kind.parse(raw)


def coerce(field: Field, raw: Any) -> Any:
    """One field's input → its Python value, or Invalid. None passes (required is separate)."""
    if raw is None:
        return None
    kind = TYPES.get(field.type)
    if kind is None:
        raise Invalid("type", f"unsupported type {field.type}")
    value = kind.parse(raw)
    if kind.check is not None:
        kind.check(field, value)
    return value
