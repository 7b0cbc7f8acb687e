"""A field's column, from the row of its type: the Piccolo class and its arguments, and the
SQL type Piccolo declares for it on each database (docs/reference/columns.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import piccolo.columns
from piccolo.columns import Column

from runtime.fields.table import decimal_digits, field_type

if TYPE_CHECKING:
    from runtime.definitions.model import Field


def column_class(type_name: str, postgres: bool) -> type[Column]:
    kind = field_type(type_name)
    column: type[Column] = getattr(piccolo.columns, (postgres and kind.pg_column) or kind.column)
    return column


def column_length(field: Field) -> int | None:
    """The VARCHAR length: `max_length` or 255; an enum's longest choice when longer."""
    kind = field_type(field.type)
    if kind.length is None:
        return None
    if field.type == "enum":  # a CHECK constraint holds the choices
        return max(kind.length, *(len(value) for value in field.choice_values))
    return field.max_length or kind.length


def column_options(field: Field) -> dict[str, Any]:
    """The arguments the field's Piccolo class needs beside the common ones."""
    kind = field_type(field.type).column
    if kind == "Varchar":
        return {"length": column_length(field)}
    if kind == "Numeric":
        return {"digits": decimal_digits(field)}
    return {}


def sql_type(field: Field, postgres: bool) -> str:
    """The column type as Piccolo declares it: VARCHAR(200), NUMERIC(12, 2), JSONB, …"""
    kind = field_type(field.type)
    template = (postgres and kind.pg_sql) or kind.sql
    if "{" not in template:
        return template
    digits, places = decimal_digits(field)
    return template.format(length=column_length(field), digits=digits, places=places)
