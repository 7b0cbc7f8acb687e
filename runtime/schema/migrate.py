"""`plinth plan` and `plinth migrate`.

The database stores the schema of its last migration (`apply.py`). `plan` compares the
definitions' schema (`describe.py`) with it and measures what each step does to the data.
`migrate` applies pending migration files, then writes a Piccolo migration module for what
is left and applies it; it refuses destructive and narrowing steps (those that touch data)
unless allowed. Migration files live in `<migrations>/<engine>/`: SQLite rebuilds tables where
PostgreSQL alters them, so the two histories differ.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from piccolo.engine.base import Engine

from runtime.database import is_postgres
from runtime.definitions.model import Project
from runtime.schema import files
from runtime.schema.apply import SCHEMA_CHANNEL, StatementFailed, read_state
from runtime.schema.ddl import Statement
from runtime.schema.describe import describe
from runtime.schema.impact import fit_statements, measure
from runtime.schema.migration_file import read_snapshot, write_migration
from runtime.schema.plan import Plan, make_plan
from runtime.schema.plan_render import refusal_lines, render_text
from runtime.schema.registry import build_registry
from runtime.schema.security import security_ddl
from runtime.schema.spec import Schema


class MigrationError(RuntimeError):
    """Migrating failed or was refused; the message says which step and why."""


class Refused(MigrationError):
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        lines = "\n".join(f"  {line}" for line in refusal_lines(plan))
        super().__init__(
            f"refused: {len(plan.refused)} step(s) would drop or narrow data:\n{lines}\n"
            "Nothing was changed. Run `plinth migrate --allow-destructive` to apply them."
        )


@dataclass
class MigrateResult:
    applied: list[str] = field(default_factory=list)  # migration ids applied now
    written: Path | None = None  # the new migration file, if the definitions changed
    statements: list[Statement] = field(default_factory=list)  # --dry-run: what would run


async def plan(project: Project, engine: Engine[Any], root: Path) -> Plan:
    """What `migrate` would change now, measured on the live database."""
    target = describe(project, engine)
    async with engine.transaction():  # read-only; one connection for every query
        pending = await files.pending(engine, files.folder_for(engine, root))
        _, applied = await read_state(engine, target)
        return await make_plan(engine, applied, target, list(pending))


async def migrate(
    project: Project,
    engine: Engine[Any],
    root: Path,
    *,
    allow_destructive: bool = False,
    dry_run: bool = False,
) -> MigrateResult:
    folder = files.folder_for(engine, root)
    result = MigrateResult()
    defined = describe(project, engine)
    applied_id, applied = await read_state(engine, defined)
    if applied_id is None and await files.ran_ids(engine):
        raise MigrationError(
            "this database ran Piccolo migrations but holds no Plinth schema snapshot: it was "
            "migrated by an earlier version of Plinth. Start from an empty database."
        )
    if not dry_run:
        await files.ensure_table()
    for migration_id, path in (await files.pending(engine, folder)).items():
        target = _snapshot_of(migration_id, path)
        if migration_id == applied_id:  # applied, but its bookkeeping row was never written
            await files.record(migration_id)
            continue
        step = await make_plan(engine, applied, target)
        if step.refused and not allow_destructive:
            raise Refused(step)
        if dry_run:
            result.statements += step.statements(allow_destructive)
        else:
            await _run(engine, folder, step, migration_id)
            result.applied.append(migration_id)
        applied = target
    step = await make_plan(engine, applied, defined)
    if step.changes:
        if step.refused and not allow_destructive:
            raise Refused(step)
        statements = step.statements(allow_destructive)
        if dry_run:
            result.statements += statements
        else:
            migration_id, path = write_migration(folder, step.target, statements, render_text(step))
            try:
                await _run(engine, folder, step, migration_id)
            except MigrationError:
                path.unlink()  # nothing was applied: keep no file that would fail again
                path.with_suffix(".json").unlink()
                raise
            result.written = path
            result.applied.append(migration_id)
    if is_postgres(engine) and not dry_run:  # the tables' names: built only on PostgreSQL
        async with engine.transaction():
            for ddl in security_ddl(build_registry(project, engine)):
                await engine.run_ddl(ddl)
            # running servers switch models at this commit, once new tables have their grants
            await engine.run_ddl(f"SELECT pg_notify('{SCHEMA_CHANNEL}', '')")
    return result


def _snapshot_of(migration_id: str, path: Path) -> Schema:
    snapshot = read_snapshot(path)
    if snapshot is None:
        raise MigrationError(
            f"migration {migration_id} ({path.name}) has no {path.with_suffix('.json').name}: "
            "it was not written by this version of Plinth, or its snapshot was not committed "
            "with it. Restore the file, or remove the migration if it was never applied."
        )
    return snapshot


async def _run(engine: Engine[Any], folder: Path, plan: Plan, migration_id: str) -> None:
    """Apply one migration file through Piccolo; on failure, say which entity, field and how
    many rows (the transaction was rolled back, so the counts are of the data as it is)."""
    try:
        success, message = await files.run(folder, migration_id)
    except StatementFailed as failure:
        raise MigrationError(await _explain(engine, plan, failure)) from None
    if not success:
        raise MigrationError(message or f"migration {migration_id} failed")


async def _explain(engine: Engine[Any], plan: Plan, failure: StatementFailed) -> str:
    key = failure.statement.table
    changes = [c for c in plan.changes if c.key == key]
    label = changes[0].label if changes else (key or "the database")
    found = []
    for impact in await measure(engine, changes):
        table = impact.change.new
        fitted = table is not None and fit_statements(table, impact.step)
        if impact.step.risk and impact.count and not fitted:  # what no UPDATE could fix
            field = f".{impact.step.field}" if impact.step.field else ""
            found.append(f"  {label}{field}: {impact.step.text} — {impact.phrase}")
    reason = (str(failure.error).strip() or type(failure.error).__name__).splitlines()[0]
    if failure.statement.sql.startswith("SELECT"):  # SQLite's check of converted values
        reason = f"a value does not convert to the column's new type ({reason})"
    if "out of shared memory" in reason:
        reason += (
            " (PostgreSQL locks every table one migration creates or changes: raise "
            "max_locks_per_transaction, or migrate fewer entities at a time)"
        )
    lines = [f"migration failed at {label}: {reason}", *found]
    lines.append(f"  statement: {failure.statement.sql.splitlines()[0]}")
    lines.append("Nothing was changed: the transaction was rolled back.")
    return "\n".join(lines)
