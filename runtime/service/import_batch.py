"""One batch of an import: each row cleaned by the service's own rules (`cleaning.new_row`,
`cleaning.update_values`, the caller's row rule), then the checks that read — references by a
target's unique field, the key's matches, references, unique values — as one query per field
for the whole batch, then the writes: creates in parts of `PART_ROWS`, each part ONE
statement (rows, timeline entries, outbox events: `created_rows`, `_rows.insert_many`) left
running on the server while Python builds the next part, and reads and plans the next batch
(`settle` waits for it before any other statement); updates through the write path. A row
that fails any check is reported and left out; the others go on."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass, field
from typing import Any

from runtime.definitions.model import Entity, Field
from runtime.fields import Invalid, coerce
from runtime.service import timeline
from runtime.service._rows import Rows, array_type, insert_many
from runtime.service.checks import check_unique
from runtime.service.cleaning import new_row, update_values
from runtime.service.created_rows import CreatedRows
from runtime.service.errors import FieldError, Forbidden, UniqueConflict, ValidationFailed
from runtime.service.scope import CallerScope, for_update
from runtime.service.values import to_json
from runtime.service.writes import Change, ChangeWriter

PART_ROWS = 500  # creates per INSERT (`Batch._write`)


@dataclass(frozen=True, slots=True)
class ByKey:
    """A reference given by a unique field of its target, resolved to an id by the batch."""

    field: str  # the target's unique field
    value: Any


@dataclass(slots=True)
class SourceRow:
    """One row of an import file: its number as the user sees it, the values by field name
    (`id` too), and what went wrong reading it."""

    number: int
    values: dict[str, Any]
    errors: list[tuple[str | None, str]] = field(default_factory=list)  # (column, message)


@dataclass(slots=True)
class Outcome:
    created: int = 0
    changed: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str | None, str]] = field(default_factory=list)


@dataclass(slots=True)
class _Planned:
    number: int
    old: dict[str, Any] | None  # None: a create
    row: dict[str, Any]  # the row as it will be
    clean: dict[str, Any]  # the values written (a create: the whole row)
    explicit_id: bool = False  # a create of the id the file gives


class Batch:
    """Checks and writes batches of one import; remembers across batches what a file may not
    repeat (key values, unique values)."""

    def __init__(
        self, writer: ChangeWriter, scope: CallerScope, entity: Entity, key: str | None
    ) -> None:
        self.writer, self.scope, self.entity, self.key = writer, scope, entity, key
        self.registry = scope.registry
        self.view = scope.view(entity)
        self.request_id = f"import:{uuid.uuid4().hex}"
        self.created = CreatedRows(self.registry, scope.principal, entity, self.request_id)
        self.self_referencing = any(f.to == entity.name for f in entity.fields)
        self._pending: asyncio.Future[None] | None = None  # the last part's INSERT
        self.today = scope.project.platform.today()  # `$today` defaults: the platform's date
        self.seen: dict[str, dict[Any, int]] = {}  # field (or the key) → value → first row

    async def run(self, rows: list[SourceRow], *, write: bool) -> Outcome:
        out = Outcome()
        live = []
        for row in rows:
            for column, message in row.errors:
                out.errors.append((row.number, column, message))
            if not row.errors:
                live.append(row)
        live = await self._resolve_by_key(live, out)
        olds = await self._existing(live, out) if self.key else {}
        planned = [p for row in live if (p := await self._plan(row, olds, out)) is not None]
        await self.settle()
        planned = await self._check_references(planned, out)
        planned = await self._check_unique(planned, out)
        if write:
            await self._write(planned)
        out.errors.sort(key=lambda e: e[0])  # by row, each row's in the order found
        out.created = sum(1 for p in planned if p.old is None)
        out.changed = len(planned) - out.created
        return out

    # -- references given by a unique field of their target ---------------------------------

    async def _resolve_by_key(self, rows: list[SourceRow], out: Outcome) -> list[SourceRow]:
        project, failed = self.scope.project, set()
        for ref in self.entity.fields:
            target = project.entities.get(ref.to or "") if ref.type == "reference" else None
            wanted = [r for r in rows if isinstance(r.values.get(ref.name), ByKey)]
            if target is None or not wanted:
                continue
            by = wanted[0].values[ref.name].field
            unique = target.field(by)
            assert unique is not None  # sources.column_of checked it
            typed: dict[int, Any] = {}
            for row in wanted:
                try:
                    typed[row.number] = coerce(unique, row.values[ref.name].value)
                except Invalid as error:
                    out.errors.append((row.number, ref.name, f"{by}: {error}"))
                    failed.add(row.number)
            table = self.registry.table(target)
            column = getattr(table, by)
            query = table.select(table.id, column).where(column.is_in(list(typed.values())))
            for clause in self.scope.clauses(target):
                query = query.where(clause)
            await self.settle()
            found = {to_json(r[by]): r["id"] for r in await query.run()} if typed else {}
            for row in wanted:
                if row.number not in typed:
                    continue
                target_id = found.get(to_json(typed[row.number]))
                if target_id is None:
                    given = row.values[ref.name].value
                    out.errors.append(
                        (row.number, ref.name, f"no {target.name} with {by} = {given!r}")
                    )
                    failed.add(row.number)
                else:
                    row.values[ref.name] = target_id
        return [r for r in rows if r.number not in failed]

    # -- the key: which rows update a record ------------------------------------------------

    def _key_value(self, row: SourceRow) -> Any:
        """The row's key as the column holds it (Invalid for one that is no such value)."""
        raw = row.values.get(self.key or "")
        if raw is None:
            return None
        if self.key == "id":
            return uuid.UUID(str(raw))
        key_field = self.entity.field(self.key or "")
        assert key_field is not None
        return coerce(key_field, raw)

    async def _existing(self, rows: list[SourceRow], out: Outcome) -> dict[int, dict[str, Any]]:
        """The records the rows' keys match (that the caller can read), locked, by row."""
        keys: dict[Any, Any] = {}
        numbers: dict[Any, int] = {}
        seen = self.seen.setdefault("\0key", {})
        for row in list(rows):
            try:
                value = self._key_value(row)
            except (Invalid, ValueError) as error:
                out.errors.append((row.number, self.key, str(error) or "expected an id"))
                rows.remove(row)
                continue
            if value is None:
                continue
            shown = to_json(value)
            if shown in seen:
                out.errors.append(
                    (row.number, self.key, f"{self.key} {shown!r} repeats row {seen[shown]}")
                )
                rows.remove(row)
                continue
            seen[shown] = row.number
            keys[shown], numbers[shown] = value, row.number
        if not keys:
            return {}
        table = self.registry.table(self.entity)
        column = getattr(table, self.key or "id")
        query = table.select().where(column.is_in(list(keys.values())))
        for clause in self.scope.clauses(self.entity):
            query = query.where(clause)
        if self.registry.engine.engine_type == "postgres":
            query = for_update(query, table)
        await self.settle()
        found = {to_json(r[self.key or "id"]): r for r in await query.run()}
        return {numbers[k]: old for k, old in found.items() if k in numbers}

    # -- each row by the service's rules ----------------------------------------------------

    async def _plan(
        self, row: SourceRow, olds: dict[int, dict[str, Any]], out: Outcome
    ) -> _Planned | None:
        values = dict(row.values)
        given_id = values.pop("id", None)
        old = olds.get(row.number)
        try:
            if old is not None:
                return await self._plan_update(row, old, values, out)
            return await self._plan_create(row, values, given_id)
        except ValidationFailed as failure:
            for error in failure.errors:
                out.errors.append((row.number, error.field, error.message))
        except Forbidden as refusal:
            out.errors.append((row.number, None, str(refusal)))
        return None

    async def _plan_update(
        self, row: SourceRow, old: dict[str, Any], values: dict[str, Any], out: Outcome
    ) -> _Planned | None:
        clean = update_values(self.view, old, values)
        new = old | clean
        if not timeline.diff(self.entity, old, new):
            out.unchanged += 1
            return None
        await self.settle()  # a row rule may read
        await self.scope.allow(self.entity, "update", old)
        await self.scope.allow(self.entity, "update", new)
        return _Planned(row.number, old, new, clean)

    async def _plan_create(self, row: SourceRow, values: dict[str, Any], given_id: Any) -> _Planned:
        if self.view.rule("create") is False:
            raise Forbidden(f"your roles do not allow you to create a {self.entity.name}")
        given = {k: v for k, v in values.items() if v is not None}  # empty: the default
        new = new_row(self.view, self.scope.principal, given, self.today)
        if given_id is not None:
            try:
                new["id"] = uuid.UUID(str(given_id))
            except ValueError:
                error = FieldError("id", "type", f"expected an id, got {given_id!r}")
                raise ValidationFailed([error]) from None
        if not isinstance(self.view.rule("create"), bool):
            await self.settle()  # a row rule may read
        await self.scope.allow(self.entity, "create", new)
        return _Planned(row.number, None, new, new, explicit_id=given_id is not None)

    # -- the checks that read, one query per field for the batch -----------------------------

    async def _check_references(self, planned: list[_Planned], out: Outcome) -> list[_Planned]:
        project, failed = self.scope.project, set()
        created_here = {p.row["id"] for p in planned if p.old is None}
        for ref in self.entity.fields:
            target = project.entities.get(ref.to or "") if ref.type == "reference" else None
            if target is None:
                continue
            given = [p for p in planned if p.clean.get(ref.name) is not None]
            ids = list({p.clean[ref.name] for p in given})
            if not ids:
                continue
            found = {r["id"] for r in await self.scope.fetch_many(target, ids)}
            if target is self.entity:
                found |= created_here
            for p in given:
                if p.clean[ref.name] not in found:
                    out.errors.append(
                        (p.number, ref.name, f"no {target.name} with id {p.clean[ref.name]}")
                    )
                    failed.add(p.number)
        return [p for p in planned if p.number not in failed]

    async def _check_unique(self, planned: list[_Planned], out: Outcome) -> list[_Planned]:
        failed: set[int] = set()
        table = self.registry.table(self.entity)
        for one in [f for f in self.entity.fields if f.unique]:
            given = [p for p in planned if p.row.get(one.name) is not None and one.name in p.clean]
            seen = self.seen.setdefault(one.name, {})
            for p in given:
                shown = to_json(p.row[one.name])
                if shown in seen and seen[shown] != p.number:
                    out.errors.append(
                        (p.number, one.name, f"{one.name} {shown!r} repeats row {seen[shown]}")
                    )
                    failed.add(p.number)
                seen.setdefault(shown, p.number)
            if not given:
                continue
            taken = await self._holders(one, list({p.row[one.name] for p in given}))
            for p in given:
                holder = taken.get(to_json(p.row[one.name]))
                if holder is not None and holder != p.row["id"]:
                    shown = to_json(p.row[one.name])
                    out.errors.append(
                        (
                            p.number,
                            one.name,
                            f"another {self.entity.name} has {one.name} = {shown!r}",
                        )
                    )
                    failed.add(p.number)
        explicit = [p for p in planned if p.explicit_id]
        if explicit:
            query = table.select(table.id).where(table.id.is_in([p.row["id"] for p in explicit]))
            taken_ids = {r["id"] for r in await query.run()}
            for p in explicit:
                if p.row["id"] in taken_ids:
                    message = f"a {self.entity.name} with this id exists (import with key id)"
                    out.errors.append((p.number, "id", message))
                    failed.add(p.number)
        if any(index.unique for index in self.entity.indexes):
            for p in planned:
                try:
                    await check_unique(self.scope, self.entity, p.row)
                except UniqueConflict as conflict:
                    out.errors += [(p.number, e.field, e.message) for e in conflict.errors]
                    failed.add(p.number)
        return [p for p in planned if p.number not in failed]

    async def _holders(self, one: Field, values: list[Any]) -> dict[Any, Any]:
        """The ids holding `values` of the unique field `one` (in the tenant), by value as JSON.
        On PostgreSQL a join with the values as one array: an index lookup per value, however
        the statement is planned (an IN list of a batch of parameters, once planned
        generically, tests each of the tenant's rows against every value)."""
        table = self.registry.table(self.entity)
        column = getattr(table, one.name)
        tenant = self.scope.principal.tenant_id
        if self.registry.engine.engine_type != "postgres":
            query = table.select(table.id, column).where(column.is_in(values))
            if self.entity.tenant_scoped:
                query = query.where(table.tenant_id == tenant)
            return {to_json(r[one.name]): r["id"] for r in await query.run()}
        name = column._meta.db_column_name
        sql = (
            f'SELECT t."id", t."{name}" AS "value" FROM {table._meta.get_formatted_tablename()}'
            f" AS t JOIN unnest({{}}::{array_type(table, name)}[]) AS v(value)"
            f' ON t."{name}" = v.value'
        )
        args: list[Any] = [values]
        if self.entity.tenant_scoped:
            sql, args = sql + ' WHERE t."tenant_id" = {}', [values, tenant]
        return {to_json(r["value"]): r["id"] for r in await table.raw(sql, *args).run()}

    # -- the writes ---------------------------------------------------------------------------

    async def _write(self, planned: list[_Planned]) -> None:
        """The creates in parts of `PART_ROWS`, each INSERT left running on the server while
        the next part is built (and the last while the next batch is read and planned), then
        the updates through the write path."""
        principal, table = self.scope.principal, self.registry.table(self.entity)
        creates = [p for p in planned if p.old is None]
        part = len(creates) if self.self_referencing else PART_ROWS  # one statement: the
        for start in range(0, len(creates), part):  # foreign keys hold at its end
            rows: Rows = []
            for p in creates[start : start + part]:
                rows.append((table, p.row))
                rows += self.created.rows(p.row)
            await self.settle()
            self._pending = asyncio.ensure_future(insert_many(rows))
            await asyncio.sleep(0)  # the task sends the statement, then waits for its end
        for p in planned:
            if p.old is not None:
                await self.settle()
                change = Change(self.entity, "updated", p.old, p.clean)
                await self.writer.write_change(principal, change, self.request_id)

    async def settle(self) -> None:
        """Wait for the INSERT in flight, raising its error: before any other statement, and
        before the import's transaction ends."""
        pending, self._pending = self._pending, None
        if pending is not None:
            await pending

    async def abandon(self) -> None:
        """Wait for the INSERT in flight and drop its outcome: the import fails already."""
        with contextlib.suppress(Exception):
            await self.settle()
