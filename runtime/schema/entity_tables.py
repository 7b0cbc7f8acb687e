"""The tables of the entities, from the Model: columns as Piccolo declares them (the types
`entities.py` gives Piccolo; a contract test compares the two), CHECK constraints where the
database can enforce a field's rule, and per-organization indexes.

Read from the Model rather than from Piccolo table classes: `plinth plan` on a thousand
entities must not pay for building a thousand classes.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from runtime.definitions.model import Entity, Field
from runtime.fields import decimal_digits, field_type, max_length
from runtime.fields.columns import sql_type
from runtime.schema.spec import Check, Column, FieldFacts, Index, Table, identifier, sql_literal

NUMBER_TYPES = ("integer", "float", "decimal")


def facts(field: Field) -> FieldFacts:
    default = field.default if field.has_default else None
    if isinstance(default, str) and default.startswith("$"):
        default = None  # $now, $today, $user: filled in by the service
    digits, places = decimal_digits(field) if field.type == "decimal" else (None, None)
    return FieldFacts(
        type=field.type,
        required=field.required,
        default=default,
        max_length=max_length(field),
        min_length=field.min_length,
        min=field.min,
        max=field.max,
        choices=field.choice_values,
        digits=digits,
        places=places,
        unique=field.unique,
        to=field.to,
        on_delete=field.on_delete if field.type == "reference" else None,
    )


def entity_table(entity: Entity, engine: str) -> Table:
    """The table of one entity on `engine` ("sqlite" or "postgres")."""
    postgres = engine == "postgres"
    columns = list(_system_columns(entity, postgres))
    columns += [_field_column(field, postgres) for field in entity.fields]
    return Table(
        key=entity.name,
        name=entity.table,
        schema=entity.module if postgres else None,
        tenant_scoped=entity.tenant_scoped,
        columns=tuple(columns),
        checks=tuple(_checks(entity, engine)),
        indexes=tuple(_indexes(entity)),
    )


def _system_columns(entity: Entity, postgres: bool) -> list[Column]:
    """SPEC §1.1's system columns, as `entities.system_columns` declares them to Piccolo."""
    now = "current_timestamp"
    columns = [
        Column("id", "UUID", False, True, default="gen_random_uuid()" if postgres else "None")
    ]
    if entity.tenant_scoped:
        columns.append(Column("tenant_id", "UUID", null=False, default="null"))
    columns.extend(
        [
            Column("created_at", "TIMESTAMPTZ", null=False, default=now),
            Column("updated_at", "TIMESTAMPTZ", null=False, default=now),
            Column("created_by", "UUID", default="null"),
            Column("updated_by", "UUID", default="null"),
            Column("version", "INTEGER", null=False, default="1"),
        ]
    )
    return columns


PLATFORM_KEYS = {"User": "PlinthUser", "Organization": "PlinthOrganization"}


def _sql_default(field: Field, default: Any) -> str:
    if field.type == "json":
        return sql_literal(json.dumps(default) if default is not None else "null")
    if field.type == "decimal" and default is not None:
        return str(Decimal(str(default)))
    if field.type == "float" and default is not None:
        return str(float(default))
    return sql_literal(default)


def _field_column(field: Field, postgres: bool) -> Column:
    known = facts(field)
    reference = field.type == "reference"
    target = PLATFORM_KEYS.get(field.to or "", field.to) if reference else None
    return Column(
        name=field.name,
        type=sql_type(field, postgres),  # what Piccolo declares for entities.field_column
        default="null" if reference else _sql_default(field, known.default),
        references=target,
        on_delete=field.on_delete.replace("_", " ").upper() if reference else None,
        field=known,
        renamed_from=field.renamed_from,
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
        if field_type(field.type).text_like:
            longest = max_length(field)
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
