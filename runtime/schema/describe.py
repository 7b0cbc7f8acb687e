"""The schema the definitions need on one engine, read off the Registry's Piccolo tables.

Column types and defaults are Piccolo's own (so the database holds exactly what Piccolo reads
and writes); CHECK constraints and indexes are Plinth's: enum choices, min/max and lengths
where the database can enforce them, and per-organization unique and composite indexes.
"""

from __future__ import annotations

from typing import Any

from piccolo.columns import Column as PiccoloColumn
from piccolo.table import Table as PiccoloTable

from runtime.definitions.model import Entity, Field
from runtime.schema.registry import Registry
from runtime.schema.spec import Check, Column, FieldFacts, Index, Schema, Table, identifier

TEXT_TYPES = ("string", "text", "email", "url")
NUMBER_TYPES = ("integer", "float", "decimal")
DEFAULT_LENGTH = 255  # string, email and url fields without max_length
EXTRA_PLATFORM_INDEXES = {  # one run per event and workflow: the workers' idempotence key
    "PlinthWorkflowRun": [
        Index("plinth_workflow_run_event_workflow", ("event_id", "workflow"), unique=True)
    ]
}


def describe(registry: Registry) -> Schema:
    engine = registry.engine.engine_type
    tables: dict[str, Table] = {}
    for table in registry.platform_tables():
        tables[table.__name__] = _platform_table(table)
    for name, table in registry.entities.items():
        entity = registry.project.entities[name]
        tables[name] = _entity_table(entity, table, engine)
    return Schema(engine=engine, tables=tables)


def sql_literal(value: Any) -> str:
    """A literal for DDL: strings quoted with '' escaping, numbers and booleans bare."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _default(column: PiccoloColumn) -> str | None:
    if type(column).__name__ in ("Serial", "BigSerial"):
        return None
    value = column.get_default_value()
    if isinstance(value, str):
        return sql_literal(value)
    return str(column.get_sql_value(value))


def _column(
    column: PiccoloColumn, facts: FieldFacts | None = None, renamed_from: str | None = None
) -> Column:
    fk = getattr(column, "_foreign_key_meta", None)
    return Column(
        name=column._meta.db_column_name,
        type=column.column_type,
        null=column._meta.null,
        primary_key=column._meta.primary_key,
        unique=column._meta.unique,
        default=_default(column),
        references=fk.resolved_references.__name__ if fk else None,
        on_delete=fk.on_delete.value if fk else None,
        field=facts,
        renamed_from=renamed_from,
    )


def _platform_table(table: type[PiccoloTable]) -> Table:
    name = table._meta.tablename
    indexes = [
        Index(identifier(f"{name}_{c._meta.db_column_name}_idx"), (c._meta.db_column_name,))
        for c in table._meta.columns
        if c._meta.index
    ]
    return Table(
        key=table.__name__,
        name=name,
        schema=None,
        entity=False,
        columns=tuple(_column(c) for c in table._meta.columns),
        indexes=tuple(indexes + EXTRA_PLATFORM_INDEXES.get(table.__name__, [])),
    )


def facts(field: Field) -> FieldFacts:
    default = field.default if field.has_default else None
    if isinstance(default, str) and default.startswith("$"):
        default = None  # $now, $today, $user: filled in by the service
    max_length = field.max_length
    if field.type in ("string", "email", "url") and max_length is None:
        max_length = DEFAULT_LENGTH
    decimal = field.type == "decimal"
    return FieldFacts(
        type=field.type,
        required=field.required,
        default=default,
        max_length=max_length,
        min_length=field.min_length,
        min=field.min,
        max=field.max,
        choices=field.choice_values,
        digits=(field.digits or 12) if decimal else None,
        places=(field.places if field.places is not None else 2) if decimal else None,
        unique=field.unique,
        to=field.to,
        on_delete=field.on_delete if field.type == "reference" else None,
    )


def _entity_table(entity: Entity, table: type[PiccoloTable], engine: str) -> Table:
    fields = {f.name: f for f in entity.fields}
    order = {name: i for i, name in enumerate(fields)}
    columns = []
    for column in sorted(table._meta.columns, key=lambda c: order.get(c._meta.name, -1)):
        field = fields.get(column._meta.db_column_name)
        columns.append(
            _column(column, facts(field), field.renamed_from) if field else _column(column)
        )
    return Table(
        key=entity.name,
        name=entity.table,
        schema=table._meta.schema,
        tenant_scoped=entity.tenant_scoped,
        columns=tuple(columns),
        checks=tuple(_checks(entity, engine)),
        indexes=tuple(_indexes(entity)),
    )


def _checks(entity: Entity, engine: str) -> list[Check]:
    """CHECK constraints where the database can enforce a rule of the field. Patterns, emails
    and URLs stay with the service; PostgreSQL's VARCHAR(n) enforces a string's max_length."""
    checks = []
    for field in entity.fields:
        name = f"{entity.table}_{field.name}"
        if field.type == "enum":
            checks.append(
                Check(identifier(f"{name}_choices"), field.name, "choices", field.choice_values)
            )
        if field.type in NUMBER_TYPES and (field.min is not None or field.max is not None):
            checks.append(
                Check(identifier(f"{name}_range"), field.name, "range", (field.min, field.max))
            )
        if field.type in TEXT_TYPES:
            longest = facts(field).max_length
            if engine == "postgres" and field.type != "text":
                longest = None  # VARCHAR(n) enforces it
            if field.min_length or longest is not None:
                checks.append(
                    Check(
                        identifier(f"{name}_length"),
                        field.name,
                        "length",
                        (field.min_length or None, longest),
                    )
                )
    return checks


def _indexes(entity: Entity) -> list[Index]:
    """Per-organization indexes (tenant_id first) for `index`, `unique` and `indexes`; one
    plain index per reference, which the database's foreign-key checks use."""
    tenant = ("tenant_id",) if entity.tenant_scoped else ()
    found: dict[str, Index] = {}

    def add(names: tuple[str, ...], unique: bool, columns: tuple[str, ...]) -> None:
        name = identifier(f"{entity.table}_{'_'.join(names)}_{'unique' if unique else 'idx'}")
        found.setdefault(name, Index(name, columns, unique))

    if tenant:
        add(tenant, False, tenant)
    for field in entity.fields:
        if field.type == "reference":
            add((field.name,), False, (field.name,))
    for index in entity.indexes:
        add(index.fields, index.unique, tenant + index.fields)
    for field in entity.fields:
        if field.unique:
            add((field.name,), True, (*tenant, field.name))
        if field.index:
            add((field.name,), False, (*tenant, field.name))
    return list(found.values())
