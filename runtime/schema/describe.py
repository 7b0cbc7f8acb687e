"""The schema the definitions need on one engine: Plinth's own tables read off their Piccolo
classes (types and defaults exactly as Piccolo declares them), and the entities' tables
(`entity_tables.py`), referenced tables first."""

from __future__ import annotations

from typing import Any

from piccolo.columns import Column as PiccoloColumn
from piccolo.engine.base import Engine
from piccolo.table import Table as PiccoloTable

from runtime.definitions.model import Project
from runtime.schema.entity_tables import entity_table
from runtime.schema.platform import build_platform_tables
from runtime.schema.registry import dependency_order
from runtime.schema.spec import Column, Index, Schema, Table, identifier, sql_literal

EXTRA_PLATFORM_INDEXES = {  # one run per event and workflow: the workers' idempotence key
    "PlinthWorkflowRun": [
        Index("plinth_workflow_run_event_workflow", ("event_id", "workflow"), unique=True)
    ],
    "PlinthScheduleTick": [  # a tick fires once however many workers run
        Index("plinth_schedule_tick_workflow_tick", ("workflow", "tick"), unique=True)
    ],
}


def describe(project: Project, engine: Engine[Any]) -> Schema:
    tables: dict[str, Table] = {}
    for table in build_platform_tables(engine).values():
        tables[table.__name__] = _platform_table(table)
    for entity in dependency_order(project):
        tables[entity.name] = entity_table(entity, engine.engine_type)
    return Schema(engine=engine.engine_type, tables=tables)


def _default(column: PiccoloColumn) -> str | None:
    if type(column).__name__ in ("Serial", "BigSerial"):
        return None
    value = column.get_default_value()
    if isinstance(value, str):
        return sql_literal(value)
    return str(column.get_sql_value(value))


def _column(column: PiccoloColumn) -> Column:
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
