"""`plinth plan` and `plinth migrate`.

The database stores the schema of its last migration (`apply.py`). `plan` compares the
definitions' schema (`describe.py`) with it and measures what each step does to the data.
`migrate` applies pending migration files, then writes a Piccolo migration module for what
is left and applies it (a deploy, `write=False`, writes none: it refuses when the files do
not cover the definitions); it refuses destructive and narrowing steps (those that touch data)
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
from runtime.schema.check import check, report
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
    write: bool = True,
) -> MigrateResult:
    """Apply the pending files, then (`write`) write and apply one for what is left."""
    if not write and (behind := check(project, root, [engine.engine_type])):
        raise MigrationError(report(behind) + "\nNothing was changed.")
    folder = files.folder_for(engine, root)
    run = _Run(engine, folder, allow_destructive, dry_run)
    defined = describe(project, engine)
    applied_id, applied = await read_state(engine, defined)
    if applied_id is None and await files.ran_ids(engine):
        raise MigrationError(
            "this database ran Piccolo migrations but holds no Plinth schema snapshot: it was "
            "migrated by an earlier version of Plinth. Start from an empty database."
        )
    if not dry_run:
        await files.ensure_table()
    applied = await run.pending(applied_id, applied)
    step = await make_plan(engine, applied, defined)
    if step.changes and not write:
        raise MigrationError(
            f"the database's schema (migration {applied_id}) is not the one the migration "
            f"files in {folder} lead to; nothing more was changed. `plinth plan` shows the "
            "difference."
        )
    if step.changes:
        await run.write(step)
    if is_postgres(engine) and not dry_run:  # the tables' names: built only on PostgreSQL
        async with engine.transaction():
            for ddl in security_ddl(build_registry(project, engine)):
                await engine.run_ddl(ddl)
            # running servers switch models at this commit, once new tables have their grants
            await engine.run_ddl(f"SELECT pg_notify('{SCHEMA_CHANNEL}', '')")
    return run.result


@dataclass
class _Run:
    """One `migrate`: its options, and what it applied or would run."""

    engine: Engine[Any]
    folder: Path
    allow_destructive: bool
    dry_run: bool
    result: MigrateResult = field(default_factory=MigrateResult)

    async def pending(self, applied_id: str | None, applied: Schema) -> Schema:
        """Apply the files the database has not run, oldest first; the schema they lead to."""
        pending = await files.pending(self.engine, self.folder)
        adopted = _adopted(pending, set(files.on_disk(self.folder)), applied_id, applied)
        for migration_id, path in pending.items():
            if migration_id in adopted:  # the database is there already: record, run nothing
                if not self.dry_run:
                    await files.record(migration_id)
                continue
            target = _snapshot_of(migration_id, path)
            step = await make_plan(self.engine, applied, target)
            if step.refused and not self.allow_destructive:
                raise Refused(step)
            if self.dry_run:
                self.result.statements += step.statements(self.allow_destructive)
            else:
                await _run(self.engine, self.folder, step, migration_id)
                self.result.applied.append(migration_id)
            applied = target
        return applied

    async def write(self, step: Plan) -> None:
        """Write a file for what the definitions still change, and apply it."""
        if step.refused and not self.allow_destructive:
            raise Refused(step)
        statements = step.statements(self.allow_destructive)
        if self.dry_run:
            self.result.statements += statements
            return
        migration_id, path = write_migration(
            self.folder, step.target, statements, render_text(step)
        )
        try:
            await _run(self.engine, self.folder, step, migration_id)
        except MigrationError:
            path.unlink()  # nothing was applied: keep no file that would fail again
            path.with_suffix(".json").unlink()
            raise
        self.result.written = path
        self.result.applied.append(migration_id)


def _adopted(
    pending: dict[str, Path], known: set[str], applied_id: str | None, applied: Schema
) -> set[str]:
    """Pending files the database has already reached: the one it last applied (whose
    bookkeeping row was never written), or — when it was migrated by a history these files
    are not (a deployment that wrote its own) — every file up to the one whose schema it holds.
    """
    if applied_id in pending:
        return {applied_id}
    if applied_id is None or applied_id in known:
        return set()
    ids = list(pending)
    digest = applied.digest()
    for index in range(len(ids) - 1, -1, -1):
        if _snapshot_of(ids[index], pending[ids[index]]).digest() == digest:
            return set(ids[: index + 1])
    return set()


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
