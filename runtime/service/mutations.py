"""The verbs that change records. Each authorizes (the caller's scope), cleans the values (its
policy view), runs the checks that read, and hands every row's change to the one write path
(`writes.ChangeWriter.write_change`). Updates and deletes resolve all their ids first, inside
one unit of work: a refused or missing record stops the call and nothing is written."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from runtime.database import is_postgres
from runtime.definitions.model import Entity
from runtime.fields import as_uuid
from runtime.service import timeline
from runtime.service.checks import check_references, check_unique, reads_before_create
from runtime.service.cleaning import new_row, update_values
from runtime.service.errors import Conflict, Forbidden, NotFound, StaleVersion
from runtime.service.reads import present
from runtime.service.scope import CallerScope, for_update
from runtime.service.writes import Change, ChangeWriter, stale

Versions = Mapping[Any, int]  # record id → the version the caller read


class Mutations:
    def __init__(self, writer: ChangeWriter) -> None:
        self.writer = writer

    async def create(
        self, scope: CallerScope, entity: Entity, values: dict[str, Any], request_id: str | None
    ) -> dict[str, Any]:
        principal, view = scope.principal, scope.view(entity)
        if view.rule("create") is False:
            raise Forbidden(f"your roles do not allow you to create a {entity.name}")
        if entity.tenant_scoped and principal.tenant_id is None:
            raise Forbidden("choose an organization first")
        row = new_row(view, principal, values, scope.project.platform.today())
        change = Change(entity, "created", values=row)
        if not reads_before_create(scope, entity, row):
            # nothing to look up first: write_change may send it as ONE statement
            await scope.allow(entity, "create", row)
            await self.writer.write_change(principal, change, request_id)
            return present(view, row)
        async with self.writer.unit(principal):
            await check_references(scope, entity, row)
            await scope.allow(entity, "create", row)
            await check_unique(scope, entity, row)
            await self.writer.write_change(principal, change, request_id)
        return present(view, row)

    async def update_many(
        self,
        scope: CallerScope,
        entity: Entity,
        record_ids: Sequence[Any],
        values: dict[str, Any],
        versions: Versions | None,
        request_id: str | None,
    ) -> list[dict[str, Any]]:
        view = scope.view(entity)
        out = []
        async with self.writer.unit(scope.principal):
            # 404 before anything else for a record the caller cannot read
            olds = await resolve(scope, entity, record_ids, versions)
            for old in olds:
                await scope.allow(entity, "update", old)
            for old in olds:
                clean = update_values(view, old, values)
                new = old | clean
                if timeline.diff(entity, old, new):
                    await check_references(scope, entity, clean)
                    await scope.allow(entity, "update", new)
                    await check_unique(scope, entity, new)
                    change = Change(entity, "updated", old, clean)
                    new = await self.writer.write_change(scope.principal, change, request_id)
                out.append(present(view, new))
        return out

    async def transition(
        self,
        scope: CallerScope,
        entity: Entity,
        record_id: Any,
        name: str,
        version: int | None,
        request_id: str | None,
    ) -> dict[str, Any]:
        """Move a record's state along transition `name` (SPEC §1.1 `states`)."""
        machine = entity.states
        step = next((t for t in machine.transitions if t.name == name), None) if machine else None
        if machine is None or step is None:
            raise NotFound(f"{entity.name} has no transition '{name}'")
        view = scope.view(entity)
        versions = {record_id: version} if version is not None else None
        async with self.writer.unit(scope.principal):
            (old,) = await resolve(scope, entity, [record_id], versions)
            if not view.may_transition(name):
                raise Forbidden(f"your roles do not allow the transition '{name}'")
            current = old[machine.field]
            if current not in step.sources:
                raise Conflict(
                    f"{entity.name} is '{current}': '{name}' goes from "
                    f"{', '.join(repr(s) for s in step.sources)} to '{step.target}'"
                )
            change = Change(entity, "transition", old, {machine.field: step.target}, name)
            new = await self.writer.write_change(scope.principal, change, request_id)
        return present(view, new)

    async def delete_many(
        self,
        scope: CallerScope,
        entity: Entity,
        record_ids: Sequence[Any],
        versions: Versions | None,
        request_id: str | None,
    ) -> None:
        async with self.writer.unit(scope.principal):
            olds = await resolve(scope, entity, record_ids, versions)
            for old in olds:
                await scope.allow(entity, "delete", old)
            deletion = _Deletion(self.writer, scope, request_id)
            for old in olds:
                await deletion.delete(entity, old)


async def resolve(
    scope: CallerScope, entity: Entity, record_ids: Sequence[Any], versions: Versions | None
) -> list[dict[str, Any]]:
    """The rows of `record_ids` (each once, in order), locked for the write that follows in
    the caller's unit of work: NotFound for one the caller cannot read, StaleVersion for one
    not at the version the caller read (If-Match). Locked, a row is read as it is now, so a
    write that names no version never fails on a version another writer moved on."""
    rows = {row["id"]: row for row in await scope.fetch_many(entity, list(record_ids), lock=True)}
    expected = {as_uuid(k): v for k, v in (versions or {}).items()}
    out: dict[uuid.UUID, dict[str, Any]] = {}
    for record_id in record_ids:
        key = as_uuid(record_id)
        row = rows.get(key) if key is not None else None
        if row is None:
            raise NotFound(f"{entity.name} {record_id} not found")
        version = expected.get(key)
        if version is not None and version != row["version"]:
            raise StaleVersion(stale(entity, row["version"], version))
        out[row["id"]] = row
    return list(out.values())


class _Deletion:
    """One delete call: rows deleted with `on_delete` of every reference to them followed.
    Remembers what it did, so a record named twice (or reached first by a cascade) is not
    deleted twice, and one whose reference it set to null is deleted at its new version."""

    def __init__(self, writer: ChangeWriter, scope: CallerScope, request_id: str | None):
        self.writer, self.scope, self.request_id = writer, scope, request_id
        self.done: dict[
            tuple[str, Any], dict[str, Any] | None
        ] = {}  # (entity, id) → row now, or gone

    async def delete(self, entity: Entity, old: dict[str, Any]) -> None:
        key = (entity.name, old["id"])
        row = self.done.get(key, old)
        if row is None:
            return
        for other in self.scope.project.entities.values():
            for field in other.fields:
                if field.type == "reference" and field.to == entity.name:
                    await self._follow(entity, row, other, field.name)
        change = Change(entity, "deleted", row)
        await self.writer.write_change(self.scope.principal, change, self.request_id)
        self.done[key] = None

    async def _follow(self, entity: Entity, old: dict[str, Any], other: Entity, name: str) -> None:
        table = self.scope.registry.table(other)
        query = table.select().where(getattr(table, name) == old["id"])
        if other.tenant_scoped and old.get("tenant_id") is not None:
            query = query.where(table.tenant_id == old["tenant_id"])
        if is_postgres(
            self.scope.registry.engine
        ):  # locked as `resolve` locks: written at their version
            query = for_update(query, table)
        rows = await query.run()
        if not rows:
            return
        field = other.field(name)
        assert field is not None
        if field.on_delete == "restrict":
            raise Conflict(
                f"cannot delete this {entity.name}: {len(rows)} {other.name} record(s) refer "
                f"to it through '{name}' (on_delete: restrict)"
            )
        for row in rows:
            if field.on_delete == "cascade":
                await self.delete(other, row)
            else:  # set_null
                change = Change(other, "updated", row, {name: None})
                new = await self.writer.write_change(self.scope.principal, change, self.request_id)
                self.done[(other.name, row["id"])] = new
