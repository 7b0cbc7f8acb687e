"""A plan: the change from one schema to another, its measured impact, and its SQL."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from piccolo.engine.base import Engine

from runtime.database import is_postgres
from runtime.schema.ddl import Statement
from runtime.schema.diff import TableChange, diff
from runtime.schema.impact import Impact, measure
from runtime.schema.postgres_alter import Fits, postgres_statements
from runtime.schema.spec import Schema
from runtime.schema.sqlite_rebuild import sqlite_statements


@dataclass
class Plan:
    engine: str
    applied: Schema
    target: Schema
    changes: list[TableChange]
    impacts: list[Impact]
    pending: list[str] = field(default_factory=list)  # migration files not applied yet

    @property
    def refused(self) -> list[Impact]:
        """The steps that need --allow-destructive."""
        return [i for i in self.impacts if i.refused]

    def statements(self, allow_destructive: bool) -> list[Statement]:
        """The SQL, with the UPDATEs that fit old values to narrowed rules when allowed."""
        fits: Fits = [(i.change.key, i.step) for i in self.refused] if allow_destructive else []
        build = postgres_statements if self.engine == "postgres" else sqlite_statements
        return build(self.changes, self.target, fits)


async def make_plan(
    engine: Engine[Any], applied: Schema, target: Schema, pending: list[str] | None = None
) -> Plan:
    changes = diff(applied, target)
    impacts = await measure(engine, changes) if changes else []
    kind = "postgres" if is_postgres(engine) else "sqlite"
    return Plan(kind, applied, target, changes, impacts, pending or [])
