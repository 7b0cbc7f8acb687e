"""One field-type table (SPEC §1.1): what each type means to every part of Plinth.

    field_type("email").operators        # the filter operators it accepts
    coerce(field, "ann@example.com")     # its value, checked against the field's options
    sql_type(field, postgres=True)       # VARCHAR(255)

Low in the layers: it reads the Model's Field objects (for annotations only) and imports no
other runtime package, nor Piccolo (only `columns` does), so `plinth check` stays light.
"""

from __future__ import annotations

from runtime.fields.coerce import coerce, parse
from runtime.fields.table import (
    DEFAULT_LENGTH,
    TYPES,
    FieldType,
    decimal_digits,
    default_max_length,
    field_type,
    fixed_places,
    max_length,
    openapi_schema,
)
from runtime.fields.values import EMAIL, URL, Invalid, as_uuid, boolean, json_text, text

__all__ = [
    "DEFAULT_LENGTH",
    "EMAIL",
    "TYPES",
    "URL",
    "FieldType",
    "Invalid",
    "as_uuid",
    "boolean",
    "coerce",
    "decimal_digits",
    "default_max_length",
    "field_type",
    "fixed_places",
    "json_text",
    "max_length",
    "openapi_schema",
    "parse",
    "text",
]
