"""Every field type of SPEC §1.1 through every reader of the field-type table (runtime/fields):
the service's coercion (a good and a bad value), the default length, the Piccolo column and
SQL type on SQLite and PostgreSQL, the OpenAPI schema, the filter operators (`plinth check`
and the query compiler accept the same ones), and the admin's form. The expectations are
written out here, not read from the table, so a type added without every facet fails."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from admin.crud import TenantCRUD
from runtime.api.openapi import field_schema
from runtime.database import engine_from_url
from runtime.definitions import OPERATORS, check_project, load_project, load_schema
from runtime.definitions.model import FIELD_TYPES, Entity, Field, Project
from runtime.fields import TYPES, as_uuid, max_length
from runtime.fields.columns import column_length
from runtime.filters import OPERATORS as GRAMMAR_OPERATORS
from runtime.schema import build_registry
from runtime.schema.entity_tables import entity_table
from runtime.service.queries import BadQuery, parse_query_filter, typed
from runtime.service.values import Invalid, coerce
from tests.conftest import PG_ADMIN_DSN

U = uuid.UUID("8c4b5f3e-1d2a-4e6f-9a0b-3c2d1e0f4a5b")
OPTIONS = {"enum": ", choices: [low, high]", "reference": ", to: User"}
THING = "entity: Thing\nfields:\n" + "".join(
    f"  f_{name}: {{type: {name}{OPTIONS.get(name, '')}}}\n" for name in FIELD_TYPES
)
GOOD: dict[str, tuple[Any, Any]] = {  # input → the value the service stores
    "string": ("abc", "abc"),
    "text": ("x" * 1000, "x" * 1000),
    "integer": ("42", 42),
    "decimal": ("12.34", Decimal("12.34")),
    "float": (1.5, 1.5),
    "boolean": (True, True),
    "date": ("2024-01-31", dt.date(2024, 1, 31)),
    "datetime": ("2024-01-31T09:30:00+02:00", dt.datetime(2024, 1, 31, 7, 30, tzinfo=dt.UTC)),
    "time": ("09:30", dt.time(9, 30)),
    "email": ("ann@example.com", "ann@example.com"),
    "url": ("https://example.com/", "https://example.com/"),
    "uuid": (str(U), U),
    "enum": ("low", "low"),
    "json": ({"a": [1]}, '{"a": [1]}'),
    "reference": (str(U), U),
    "file": (None, None),  # a file is uploaded (tests/files), never set by value
}
BAD: dict[str, tuple[Any, str]] = {  # input → the error's code
    "string": ("x" * 256, "max_length"),
    "text": ("a\x00b", "type"),
    "integer": ("ten", "type"),
    "decimal": ("1.234", "places"),
    "float": ("nan", "type"),
    "boolean": ("yes", "type"),
    "date": ("2024-13-01", "type"),
    "datetime": ("2024-01-31T09:30:00", "timezone"),
    "time": ("09:30+02:00", "timezone"),
    "email": ("not an address", "email"),
    "url": ("ftp://example.com", "url"),
    "uuid": ("nope", "type"),
    "enum": ("medium", "choice"),
    "json": (float("nan"), "type"),
    "reference": ("nope", "type"),
    "file": ("uploads/a.pdf", "upload"),
}
LENGTH = {"string": 255, "email": 255, "url": 255}  # max_length when the field sets none
VARCHAR = ("string", "email", "url", "enum")  # VARCHAR(255) by default
COLUMNS = {  # type → (Piccolo class on SQLite, on PostgreSQL, SQL type on SQLite, on PostgreSQL)
    "string": ("Varchar", "Varchar", "VARCHAR(255)", "VARCHAR(255)"),
    "text": ("Text", "Text", "TEXT", "TEXT"),
    "integer": ("Integer", "Integer", "INTEGER", "INTEGER"),
    "decimal": ("Numeric", "Numeric", "NUMERIC(12, 2)", "NUMERIC(12, 2)"),
    "float": ("DoublePrecision", "DoublePrecision", "DOUBLE PRECISION", "DOUBLE PRECISION"),
    "boolean": ("Boolean", "Boolean", "BOOLEAN", "BOOLEAN"),
    "date": ("Date", "Date", "DATE", "DATE"),
    "datetime": ("Timestamptz", "Timestamptz", "TIMESTAMPTZ", "TIMESTAMPTZ"),
    "time": ("Time", "Time", "TIME", "TIME"),
    "email": ("Varchar", "Varchar", "VARCHAR(255)", "VARCHAR(255)"),
    "url": ("Varchar", "Varchar", "VARCHAR(255)", "VARCHAR(255)"),
    "uuid": ("UUID", "UUID", "UUID", "UUID"),
    "enum": ("Varchar", "Varchar", "VARCHAR(255)", "VARCHAR(255)"),
    "json": ("JSON", "JSONB", "JSON", "JSONB"),
    "reference": ("ForeignKey", "ForeignKey", "UUID", "UUID"),
    "file": ("Text", "Text", "TEXT", "TEXT"),  # the reference's JSON text
}
OPENAPI: dict[str, dict[str, Any]] = {
    "string": {"type": "string", "maxLength": 255},
    "text": {"type": "string"},
    "integer": {"type": "integer"},
    "decimal": {"type": "string", "format": "decimal"},
    "float": {"type": "number"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "datetime": {"type": "string", "format": "date-time"},
    "time": {"type": "string", "format": "time"},
    "email": {"type": "string", "format": "email", "maxLength": 255},
    "url": {"type": "string", "format": "uri", "maxLength": 255},
    "uuid": {"type": "string", "format": "uuid"},
    "enum": {"enum": ["low", "high"]},
    "json": {},
    "reference": {"type": "string", "format": "uuid"},
    "file": {
        "type": "object",
        "readOnly": True,
        "properties": {
            "name": {"type": "string"},
            "size": {"type": "integer"},
            "content_type": {"type": "string"},
            "sha256": {"type": "string"},
            "url": {"type": "string"},
        },
    },
}
_EQUALITY = frozenset({"eq", "ne", "in", "nin", "isnull"})
_ORDERED = _EQUALITY | {"gt", "gte", "lt", "lte", "between"}
_ALL = frozenset(GRAMMAR_OPERATORS)
ACCEPTS = {  # the filter operators of each type (SPEC §1.3)
    **dict.fromkeys(("string", "text", "email", "url", "enum"), _ALL),
    **dict.fromkeys(("integer", "decimal", "float", "date", "datetime", "time", "uuid"), _ORDERED),
    **dict.fromkeys(("boolean", "reference"), _EQUALITY),
    **dict.fromkeys(("json", "file"), frozenset({"isnull"})),
}
ADMIN = {  # how piccolo-admin's form shows the field (the widget of its schema)
    **dict.fromkeys(FIELD_TYPES, "input"),
    "text": "text-area",
    "file": "text-area",
    "datetime": "timestamptz",
    "enum": "choices",
    "json": "json",
    "reference": "foreign-key",
}
SEARCH = {  # whether `admin.search` may name it, and whether it is searched when that is unset
    **dict.fromkeys(FIELD_TYPES, (False, False)),
    **dict.fromkeys(("string", "text", "email"), (True, True)),
    **dict.fromkeys(("url", "enum"), (True, False)),
}
FACETS = [GOOD, BAD, COLUMNS, OPENAPI, ACCEPTS, ADMIN, SEARCH]


@pytest.fixture(scope="module")
def thing(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Project, Entity]:
    folder = tmp_path_factory.mktemp("types") / "definitions"
    folder.mkdir()
    (folder / "thing.yaml").write_text(THING)
    project = load_project(folder)
    return folder, project, project.entities["Thing"]


def _field(entity: Entity, kind: str) -> Field:
    field = entity.field(f"f_{kind}")
    assert field is not None
    return field


def test_every_spec_type_has_a_row_and_every_facet() -> None:
    schema = load_schema("entity")["$defs"]["field"]["properties"]["type"]["enum"]
    assert list(TYPES) == list(FIELD_TYPES) == schema
    for facet in FACETS:
        assert set(facet) == set(FIELD_TYPES)


@pytest.mark.parametrize("kind", FIELD_TYPES)
def test_coercion(kind: str, thing: tuple[Path, Project, Entity]) -> None:
    field = _field(thing[2], kind)
    given, stored = GOOD[kind]
    assert coerce(field, given) == stored
    assert coerce(field, None) is None
    wrong, code = BAD[kind]
    with pytest.raises(Invalid) as refused:
        coerce(field, wrong)
    assert refused.value.code == code


@pytest.mark.parametrize("kind", FIELD_TYPES)
def test_default_length(kind: str, thing: tuple[Path, Project, Entity]) -> None:
    field = _field(thing[2], kind)
    assert (field.max_length, max_length(field)) == (LENGTH.get(kind), LENGTH.get(kind))
    assert column_length(field) == (255 if kind in VARCHAR else None)


@pytest.mark.parametrize("url", ["sqlite:///unused.sqlite3", PG_ADMIN_DSN])
@pytest.mark.parametrize("kind", FIELD_TYPES)
def test_columns(kind: str, url: str, thing: tuple[Path, Project, Entity]) -> None:
    _, project, entity = thing
    engine = engine_from_url(url)  # not connected: only the column types are read
    postgres = engine.engine_type == "postgres"
    table = build_registry(project, engine).table("Thing")
    column = getattr(table, f"f_{kind}")
    sqlite_class, pg_class, sqlite_sql, pg_sql = COLUMNS[kind]
    assert type(column).__name__ == (pg_class if postgres else sqlite_class)
    declared = entity_table(entity, engine.engine_type).column(f"f_{kind}")
    assert declared is not None and declared.type == (pg_sql if postgres else sqlite_sql)


@pytest.mark.parametrize("kind", FIELD_TYPES)
def test_openapi(kind: str, thing: tuple[Path, Project, Entity]) -> None:
    schema = field_schema(_field(thing[2], kind))
    assert schema == OPENAPI[kind] | {"title": f"F {kind}"}


def _operand(kind: str, op: str) -> Any:
    value = GOOD[kind][0] if kind not in ("json", "file") else "x"
    if op in ("contains", "icontains", "startswith", "endswith"):
        return "a"
    return {"in": [value], "nin": [value], "between": [value, value], "isnull": True}.get(op, value)


def test_operators_agree(thing: tuple[Path, Project, Entity]) -> None:
    """`plinth check` on a role rule and the API's query compiler refuse the same operators:
    those the type has not."""
    folder, project, entity = thing
    assert set(OPERATORS) == _ALL
    conditions = [{f"f_{k}": {op: _operand(k, op)}} for k in FIELD_TYPES for op in OPERATORS]
    rule = json.dumps({"and": conditions})
    (folder / "role.yaml").write_text(f"role: clerk\npermissions:\n  Thing: {{read: {rule}}}\n")
    try:
        _, problems = check_project(folder)
    finally:
        (folder / "role.yaml").unlink()
    pattern = r"operator '(\w+)' does not apply to field 'f_(\w+)'"
    refused_by_check = {m.groups()[::-1] for p in problems if (m := re.search(pattern, str(p)))}
    refused_by_api = set()
    for kind in FIELD_TYPES:
        for op in OPERATORS:
            node = parse_query_filter({f"f_{kind}": {op: _operand(kind, op)}})
            try:
                typed(project, entity, node, {})
            except BadQuery as error:
                if error.errors[0].code == "operator":
                    refused_by_api.add((kind, op))
    refused = {(k, op) for k in FIELD_TYPES for op in OPERATORS if op not in ACCEPTS[k]}
    assert refused_by_check == refused
    assert refused_by_api == refused
    assert {k: set(TYPES[k].operators) for k in FIELD_TYPES} == ACCEPTS


@pytest.mark.parametrize("kind", FIELD_TYPES)
def test_admin_display(kind: str, thing: tuple[Path, Project, Entity]) -> None:
    _, project, _ = thing
    table = build_registry(project, engine_from_url("sqlite:///unused.sqlite3")).table("Thing")
    form = TenantCRUD(table).pydantic_model.model_json_schema()
    extra = form["properties"][f"f_{kind}"]["extra"]
    if extra.get("foreign_key"):
        shown = "foreign-key"
    elif extra.get("choices"):
        shown = "choices"
    else:
        shown = extra.get("widget", "input")
    assert TYPES[kind].admin == shown == ADMIN[kind]


def test_search(thing: tuple[Path, Project, Entity]) -> None:
    """`plinth check` warns about an `admin.search` field search cannot match."""
    folder = thing[0]
    names = ", ".join(f"f_{kind}" for kind in FIELD_TYPES)
    (folder / "thing.yaml").write_text(f"{THING}admin: {{search: [{names}]}}\n")
    try:
        _, problems = check_project(folder)
    finally:
        (folder / "thing.yaml").write_text(THING)
    pattern = r"field 'f_(\w+)' in admin search: search only matches text"
    warned = {m.group(1) for p in problems if (m := re.search(pattern, str(p)))}
    assert warned == {kind for kind in FIELD_TYPES if not SEARCH[kind][0]}
    found = {kind: (TYPES[kind].searchable, TYPES[kind].default_search) for kind in FIELD_TYPES}
    assert found == SEARCH


def test_the_reference_lists_each_types_operators() -> None:
    """docs/reference/definitions.md's table "Operators by field type" says what the code
    accepts, type by type."""
    from runtime.fields import TYPES

    text = (Path(__file__).resolve().parent.parent / "docs/reference/definitions.md").read_text()
    table = text.split("Operators by field type:", 1)[1].split("\n\n", 2)[1]
    documented: dict[str, set[str]] = {}
    for line in table.splitlines()[2:]:
        kinds, ops = (cell.strip() for cell in line.strip("|").split("|"))
        for kind in kinds.split(", "):
            documented[kind] = set(ops.strip("`").split())
    assert documented == {name: set(t.operators) for name, t in TYPES.items()}


def test_as_uuid_takes_a_uuid_or_its_text_and_answers_none_for_anything_else() -> None:
    assert as_uuid(U) is U
    assert as_uuid(str(U)) == as_uuid(U.hex) == as_uuid(f"{{{U}}}") == U
    assert [as_uuid(v) for v in ("", "acme", None, 42, str(U)[:-1])] == [None] * 5
