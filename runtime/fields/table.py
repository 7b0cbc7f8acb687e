"""The field-type table: for each SPEC §1.1 type, in one row, how a value is read and checked,
its default length, its column (Piccolo class, SQL type on each database), its OpenAPI schema,
the filter operators it accepts and how the admin shows it.

Every module that treats types differently reads this row instead of keeping its own list;
tests/test_field_types.py walks every type through every one of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from runtime.fields import file_refs
from runtime.fields import values as v

if TYPE_CHECKING:  # only for annotations: runtime.definitions imports this package
    from runtime.definitions.model import Field

DEFAULT_LENGTH = 255  # string, email and url fields without max_length
DEFAULT_DIGITS, DEFAULT_PLACES = 12, 2  # a decimal without digits / places
# The operators of SPEC §1.3 a type accepts: every one (text), all but the text ones (ordered
# values), equality, or only isnull. A set: each reader lists them in its grammar's order.
EQUALITY = frozenset({"eq", "ne", "in", "nin", "isnull"})
ORDERED = EQUALITY | {"gt", "gte", "lt", "lte", "between"}  # numbers, dates, times, UUIDs
ANY_OPERATOR = ORDERED | {"contains", "icontains", "startswith", "endswith"}
NULL_ONLY = frozenset({"isnull"})


@dataclass(frozen=True, slots=True)
class FieldType:
    """One row of the table. `column` names a class of piccolo.columns (a name: `plinth
    check` reads this table and does not import Piccolo); `sql` may hold {length}, {digits}
    and {places}."""

    name: str
    parse: Callable[[Any], Any]  # input → value of the type, or Invalid
    column: str  # the Piccolo column class (on PostgreSQL `pg_column`, when set)
    sql: str  # the type Piccolo declares (on PostgreSQL `pg_sql`, when set)
    openapi: dict[str, Any]
    operators: frozenset[str]
    check: Callable[[Field, Any], None] | None = None  # the field's options, on a parsed value
    text_like: bool = False  # min_length, max_length, pattern apply; blank counts as missing
    length: int | None = None  # default VARCHAR length / max_length
    pg_column: str | None = None
    pg_sql: str | None = None
    admin: str = "input"  # the widget piccolo-admin shows the column with
    searchable: bool = False  # `admin.search` may name it: search matches its text
    default_search: bool = False  # searched when `admin.search` names nothing (API, picker)
    # stored value → what a record's JSON shows, given the URL of the field's file route
    show: Callable[[Any, str], Any] | None = None
    log: Callable[[Any], Any] | None = None  # stored value → what the timeline records


def max_length(field: Field) -> int | None:
    """The most characters a value may have: `max_length`, else the type's default (string,
    email, url: 255); None when nothing limits it (text, and types without text rules)."""
    kind = TYPES.get(field.type)
    if kind is None or not kind.text_like:
        return None
    return field.max_length or kind.length


def default_max_length(type_name: str) -> int | None:
    """The max_length of a field of this type that sets none."""
    kind = TYPES.get(type_name)
    return kind.length if kind is not None and kind.text_like else None


def decimal_digits(field: Field) -> tuple[int, int]:
    """(digits, places) of a decimal field, with the defaults filled in."""
    places = field.places if field.places is not None else DEFAULT_PLACES
    return field.digits or DEFAULT_DIGITS, places


def fixed_places(field: Field, value: Any) -> Decimal:
    """A decimal field's value with its places (10.5 → 10.50), as PostgreSQL gives it back and
    SQLite does not."""
    places = decimal_digits(field)[1]
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-places))


def openapi_schema(field: Field) -> dict[str, Any]:
    """The JSON Schema of the field's type: its row's, an enum's choices, the length limit."""
    if field.type == "enum":
        return {"enum": list(field.choice_values)}
    schema = dict(field_type(field.type).openapi)
    longest = max_length(field)
    if longest is not None:
        schema["maxLength"] = longest
    return schema


def _text_rules(field: Field, value: str) -> None:
    v.check_text(value, max_length(field), field.min_length, field.pattern)


def _email_rules(field: Field, value: str) -> None:
    _text_rules(field, value)
    v.check_email(value)


def _url_rules(field: Field, value: str) -> None:
    _text_rules(field, value)
    v.check_url(value)


def _enum_rules(field: Field, value: str) -> None:
    v.check_choice(value, field.choice_values)


def _number_rules(field: Field, value: Any) -> None:
    v.check_range(value, field.min, field.max)


def _decimal_rules(field: Field, value: Any) -> None:
    v.check_decimal(value, *decimal_digits(field))
    v.check_range(value, field.min, field.max)


_STRING = {"type": "string"}
_FILE = {
    "type": "object",
    "readOnly": True,
    "properties": {
        "name": {"type": "string"},
        "size": {"type": "integer"},
        "content_type": {"type": "string"},
        "sha256": {"type": "string"},
        "url": {"type": "string"},
    },
}
_ROWS = (
    FieldType("string", v.text, "Varchar", "VARCHAR({length})", _STRING, ANY_OPERATOR,
              _text_rules, text_like=True, length=DEFAULT_LENGTH, searchable=True,
              default_search=True),
    FieldType("text", v.text, "Text", "TEXT", _STRING, ANY_OPERATOR, _text_rules,
              text_like=True, admin="text-area", searchable=True, default_search=True),
    FieldType("integer", v.integer, "Integer", "INTEGER", {"type": "integer"}, ORDERED,
              _number_rules),
    FieldType("decimal", v.decimal, "Numeric", "NUMERIC({digits}, {places})",
              {"type": "string", "format": "decimal"}, ORDERED, _decimal_rules),
    FieldType("float", v.floating, "DoublePrecision", "DOUBLE PRECISION", {"type": "number"},
              ORDERED, _number_rules),
    FieldType("boolean", v.strict_boolean, "Boolean", "BOOLEAN", {"type": "boolean"}, EQUALITY),
    FieldType("date", v.date_value, "Date", "DATE", {"type": "string", "format": "date"},
              ORDERED),
    FieldType("datetime", v.datetime_value, "Timestamptz", "TIMESTAMPTZ",
              {"type": "string", "format": "date-time"}, ORDERED, admin="timestamptz"),
    FieldType("time", v.time_value, "Time", "TIME", {"type": "string", "format": "time"},
              ORDERED),
    FieldType("email", v.text, "Varchar", "VARCHAR({length})",
              {"type": "string", "format": "email"}, ANY_OPERATOR, _email_rules,
              text_like=True, length=DEFAULT_LENGTH, searchable=True, default_search=True),
    FieldType("url", v.text, "Varchar", "VARCHAR({length})", {"type": "string", "format": "uri"},
              ANY_OPERATOR, _url_rules, text_like=True, length=DEFAULT_LENGTH, searchable=True),
    FieldType("uuid", v.uuid_value, "UUID", "UUID", {"type": "string", "format": "uuid"},
              ORDERED),
    # An enum orders and matches as its text; its values are the field's choices.
    FieldType("enum", v.text, "Varchar", "VARCHAR({length})", {}, ANY_OPERATOR, _enum_rules,
              length=DEFAULT_LENGTH, admin="choices", searchable=True),
    FieldType("json", v.json_text, "JSON", "JSON", {}, NULL_ONLY, pg_column="JSONB",
              pg_sql="JSONB", admin="json"),
    FieldType("reference", v.uuid_value, "ForeignKey", "UUID",
              {"type": "string", "format": "uuid"}, EQUALITY, admin="foreign-key"),
    # The reference's JSON text {key, name, size, content_type, sha256} (fields/file_refs.py):
    # written by uploads only, shown without the key, logged as {name, size, sha256}.
    FieldType("file", file_refs.given, "Text", "TEXT", _FILE, NULL_ONLY, file_refs.refuse,
              show=file_refs.shown, log=file_refs.summary, admin="text-area"),
)  # fmt: skip
TYPES: dict[str, FieldType] = {row.name: row for row in _ROWS}


def field_type(name: str) -> FieldType:
    """The row of a type; ValueError for a name the table has not."""
    try:
        return TYPES[name]
    except KeyError:
        raise ValueError(f"unknown field type {name!r}") from None
