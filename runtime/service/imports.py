"""Import: many rows through the same rules as one create or update — validation, the role,
its row rule and write set, the tenant, the timeline and the outbox — in batches, so that a
file of 10,000 rows costs a few statements per batch, not round trips per row.

All or nothing by default: every row is checked (and written, inside one transaction), and
any error rolls it all back, so a retry never duplicates rows. `partial` commits the good rows
and reports the rest. `dry_run` checks everything and writes nothing. `key` (a unique field,
or `id`) makes it an upsert: a row whose key matches a record updates it, and a row that
changes nothing is `unchanged`, so importing the same file twice changes nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from runtime.definitions.model import Entity
from runtime.service.errors import Forbidden, ServiceError
from runtime.service.import_batch import Batch, SourceRow
from runtime.service.scope import CallerScope
from runtime.service.writes import ChangeWriter

BATCH_ROWS = 2000


class BadImport(ServiceError):
    """The import cannot start: its options do not fit the entity."""

    code = "bad_import"


@dataclass(frozen=True, slots=True)
class ImportOptions:
    key: str | None = None  # a unique field (or "id"): rows that match it update
    dry_run: bool = False
    partial: bool = False


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}, column {self.column}" if self.column else f"row {self.row}"
        return f"{where}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass(slots=True)
class ImportReport:
    rows: int = 0
    created: int = 0
    changed: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    committed: bool = False  # the created and changed rows are in the database

    @property
    def failed_rows(self) -> int:
        return len({e.row for e in self.errors})

    def to_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "created": self.created,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "failed": self.failed_rows,
            "committed": self.committed,
            "errors": [e.to_json() for e in self.errors],
        }


class _RollBack(Exception):
    """Leaves the import's transaction without committing (dry run, or errors)."""


Progress = Callable[[int], None]  # rows done so far


async def import_rows(
    writer: ChangeWriter,
    scope: CallerScope,
    entity: Entity,
    rows: Iterable[SourceRow],
    options: ImportOptions,
    progress: Progress | None = None,
) -> ImportReport:
    """Check and write `rows` (SourceError from reading them leaves as it is)."""
    check_options(scope, entity, options)
    report = ImportReport()
    batch = Batch(writer, scope, entity, options.key)
    try:
        async with writer.unit(scope.principal):
            try:
                for chunk in _chunks(rows):
                    outcome = await batch.run(chunk, write=not options.dry_run)
                    report.rows += len(chunk)
                    report.created += outcome.created
                    report.changed += outcome.changed
                    report.unchanged += outcome.unchanged
                    report.errors += [RowError(n, c, m) for n, c, m in outcome.errors]
                    if progress is not None:
                        progress(report.rows)
                await batch.settle()
            except BaseException:
                await batch.abandon()  # the connection is free before the rollback
                raise
            if options.dry_run or (report.errors and not options.partial):
                raise _RollBack
        report.committed = True
    except _RollBack:
        pass
    return report


def check_options(scope: CallerScope, entity: Entity, options: ImportOptions) -> None:
    view = scope.view(entity)
    may_create = view.rule("create") is not False
    may_update = options.key is not None and view.rule("update") is not False
    if not (may_create or may_update):
        raise Forbidden(f"your roles do not allow you to import {entity.name} records")
    if options.key is None or options.key == "id":
        return
    key = entity.field(options.key)
    if key is None or not key.unique:
        unique = [f.name for f in entity.fields if f.unique]
        raise BadImport(
            f"key {options.key!r}: expected id or a unique field of {entity.name}"
            + (f" ({', '.join(unique)})" if unique else "")
        )


def _chunks(rows: Iterable[SourceRow]) -> Iterator[list[SourceRow]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, BATCH_ROWS)):
        yield chunk
