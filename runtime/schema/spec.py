"""The database schema Plinth keeps in step with the definitions, as plain data.

A `Schema` is what one engine's database should hold: tables, their columns, CHECK
constraints and indexes. The schema of the definitions is described from the Piccolo tables
(`describe.py`); the applied one is a snapshot stored in the database by each migration
(`state.py`). `diff.py` compares the two.
"""

from __future__ import annotations

import hashlib
from dataclasses import MISSING, dataclass, fields, replace
from dataclasses import field as dataclass_field
from typing import Any

MAX_IDENTIFIER = 63  # PostgreSQL truncates longer names


def identifier(name: str) -> str:
    """A constraint or index name that fits PostgreSQL's 63 bytes, stable for the same input."""
    if len(name.encode()) <= MAX_IDENTIFIER:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"{name.encode()[: MAX_IDENTIFIER - 9].decode(errors='ignore')}_{digest}"


def q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def sql_literal(value: Any) -> str:
    """A literal for DDL: strings quoted with '' escaping, numbers and booleans bare."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


@dataclass(frozen=True, slots=True)
class FieldFacts:
    """What the service enforces about an entity field, kept to measure a change's impact."""

    type: str
    required: bool = False
    default: Any = None  # the literal default, or None ($now, $today, $user: none here)
    max_length: int | None = None
    min_length: int | None = None
    min: float | int | None = None
    max: float | int | None = None
    choices: tuple[str, ...] = ()
    digits: int | None = None
    places: int | None = None
    unique: bool = False
    to: str | None = None
    on_delete: str | None = None


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str  # the declared SQL type on this engine: VARCHAR(200), NUMERIC(12, 2), JSONB
    null: bool = True
    primary_key: bool = False
    unique: bool = False  # a UNIQUE column (platform tables; entities use per-tenant indexes)
    default: str | None = None  # the SQL default expression; None: no DEFAULT clause
    references: str | None = None  # key of the referenced table
    on_delete: str | None = None  # RESTRICT, CASCADE or SET NULL
    field: FieldFacts | None = None  # entity fields only
    renamed_from: str | None = dataclass_field(
        default=None, compare=False, repr=False
    )  # definitions only


@dataclass(frozen=True, slots=True)
class Check:
    """A CHECK constraint on one column: `choices` (values), `range` (min, max) or `length`
    (min_length, max_length)."""

    name: str
    column: str
    kind: str
    values: tuple[Any, ...]

    @property
    def identity(self) -> tuple[Any, ...]:
        return (self.column, self.kind, self.values)


@dataclass(frozen=True, slots=True)
class Index:
    name: str
    columns: tuple[str, ...]
    unique: bool = False

    @property
    def identity(self) -> tuple[Any, ...]:
        return (self.columns, self.unique)


@dataclass(frozen=True, slots=True)
class Table:
    key: str  # the entity name ("Ticket") or the platform table's class name ("PlinthUser")
    name: str
    schema: str | None  # PostgreSQL schema; None on SQLite and for the public schema
    entity: bool = True
    tenant_scoped: bool = False
    columns: tuple[Column, ...] = ()
    checks: tuple[Check, ...] = ()
    indexes: tuple[Index, ...] = ()

    @property
    def qualified(self) -> str:
        return f'"{self.schema}"."{self.name}"' if self.schema else f'"{self.name}"'

    @property
    def label(self) -> str:
        return self.key if self.entity else f"platform table {self.name}"

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)

    def index_name(self, name: str) -> str:
        """An index as DROP INDEX names it (PostgreSQL indexes live in the table's schema)."""
        return f'"{self.schema}"."{name}"' if self.schema else f'"{name}"'

    def ordered(self) -> Table:
        """This table with its columns, checks and indexes sorted by name: for comparisons
        where the order the definitions list them in does not matter."""
        return replace(
            self,
            columns=tuple(sorted(self.columns, key=lambda c: c.name)),
            checks=tuple(sorted(self.checks, key=lambda c: c.name)),
            indexes=tuple(sorted(self.indexes, key=lambda i: i.name)),
        )

    def renamed(self, renames: dict[str, str]) -> Table:
        """This table after `ALTER TABLE RENAME COLUMN old TO new` for each pair: columns,
        checks and indexes follow the new names; constraint and index names stay."""
        if not renames:
            return self

        def new(name: str) -> str:
            return renames.get(name, name)

        return replace(
            self,
            columns=tuple(replace(c, name=new(c.name)) for c in self.columns),
            checks=tuple(replace(c, column=new(c.column)) for c in self.checks),
            indexes=tuple(
                replace(i, columns=tuple(new(c) for c in i.columns)) for i in self.indexes
            ),
        )


@dataclass(frozen=True)
class Schema:
    engine: str  # "sqlite" or "postgres"
    tables: dict[str, Table]  # by key, referenced tables before the tables that refer to them

    def to_json(self) -> dict[str, Any]:
        """Plain data, without the values that are defaults (a snapshot of a thousand tables
        stays small and quick to read)."""
        return {"engine": self.engine, "tables": [_compact(t) for t in self.tables.values()]}

    def digest(self) -> str:
        """Equal for equal schemas (the dataclasses' repr is deterministic, and leaves out
        `renamed_from`): `plan` compares digests before it reads a whole snapshot."""
        return hashlib.sha256(repr(list(self.tables.values())).encode()).hexdigest()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Schema:
        tables = [_table_from_json(t) for t in data["tables"]]
        return cls(engine=data["engine"], tables={t.key: t for t in tables})

    @classmethod
    def empty(cls, engine: str) -> Schema:
        return cls(engine=engine, tables={})


_REQUIRED = object()
_DEFAULTS: dict[type, list[tuple[str, Any]]] = {
    kind: [
        (f.name, _REQUIRED if f.default is MISSING else f.default)
        for f in fields(kind)
        if f.compare  # renamed_from is an instruction of the definitions, not state
    ]
    for kind in (FieldFacts, Column, Check, Index, Table)
}


def _compact(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_compact(v) for v in value]
    if type(value) in _DEFAULTS:
        return {
            name: _compact(getattr(value, name))
            for name, default in _DEFAULTS[type(value)]
            if default is _REQUIRED or getattr(value, name) != default
        }
    return value


def _table_from_json(data: dict[str, Any]) -> Table:
    columns = []
    for raw in data.get("columns", ()):
        facts = raw.get("field")
        if facts is not None:
            facts = FieldFacts(**{**facts, "choices": tuple(facts.get("choices", ()))})
        columns.append(Column(**{**raw, "field": facts}))
    return Table(
        **{k: v for k, v in data.items() if k not in ("columns", "checks", "indexes")},
        columns=tuple(columns),
        checks=tuple(Check(**{**c, "values": tuple(c["values"])}) for c in data.get("checks", ())),
        indexes=tuple(
            Index(**{**i, "columns": tuple(i["columns"])}) for i in data.get("indexes", ())
        ),
    )
