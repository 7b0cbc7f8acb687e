"""Restore: a record put back to its values as of one of its timeline entries, through the
service's own update (or create, for a deleted record), so validation, roles, the write set
and If-Match apply and the restore is itself a timeline entry.

The timeline's entries are diffs; folding them from the first up to the chosen one gives the
record as it was right after that change (right before it, for the delete entry: a deleted
record comes back as it was). Three kinds of field are left as they are, because the timeline
cannot or may not give them back: hidden fields (logged masked), files (logged as a summary,
the bytes may be gone) and the state field (it moves only by transitions; a deleted record
comes back in the state it had)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from runtime.definitions.model import Entity, Field
from runtime.fields import as_uuid
from runtime.service.checks import check_references, check_unique
from runtime.service.cleaning import new_row
from runtime.service.errors import Forbidden, NotFound, ServiceError
from runtime.service.mutations import Mutations
from runtime.service.reads import present
from runtime.service.scope import CallerScope
from runtime.service.values import json_value
from runtime.service.writes import Change


class BadRestore(ServiceError):
    code = "bad_restore"


async def restore(
    mutations: Mutations,
    scope: CallerScope,
    entity: Entity,
    record_id: Any,
    entry_id: Any,
    version: int | None,
    request_id: str | None,
) -> dict[str, Any]:
    rid, eid = as_uuid(record_id), as_uuid(entry_id)
    if rid is None:
        raise NotFound(f"{entity.name} {record_id} not found")
    if eid is None:
        raise BadRestore(f"entry {entry_id!r}: expected the id of a timeline entry")
    async with scope.wall():
        entries = await _entries(scope, entity, rid)
        current = await scope.fetch(entity, rid)
    chosen = next((i for i, e in enumerate(entries) if e["id"] == eid), None)
    deleted = current is None and bool(entries) and entries[-1]["event"] == "deleted"
    if chosen is None or (current is None and not deleted):
        raise NotFound(f"{entity.name} {record_id} has no timeline entry {entry_id}")
    state = as_of(entity, entries, chosen)
    if deleted:
        return await _recreate(mutations, scope, entity, rid, state, request_id)
    values = {f.name: _logged(f, state) for f in entity.fields if _restorable(entity, f)}
    versions = {rid: version} if version is not None else None
    (record,) = await mutations.update_many(scope, entity, [rid], values, versions, request_id)
    return record


def as_of(entity: Entity, entries: list[dict[str, Any]], chosen: int) -> dict[str, Any]:
    """The record's values (JSON, as the timeline logs them) right after entry `chosen`, or
    right before it when it is the delete."""
    last = chosen if entries[chosen]["event"] != "deleted" else chosen - 1
    state: dict[str, Any] = {}
    for entry in entries[: last + 1]:
        if entry["event"] == "created":
            state = {}
        for name, change in entry["changes"].items():
            state[name] = change.get("new")
    return state


def _logged(field: Field, state: dict[str, Any]) -> Any:
    """A field's value as the timeline logged it, as a write takes it: a json field is
    logged as its JSON text."""
    value = state.get(field.name)
    return json_value(value) if field.type == "json" and value is not None else value


def _restorable(entity: Entity, field: Field) -> bool:
    state_field = entity.states.field if entity.states else None
    return not field.hidden and field.type != "file" and field.name != state_field


async def _recreate(
    mutations: Mutations,
    scope: CallerScope,
    entity: Entity,
    record_id: uuid.UUID,
    state: dict[str, Any],
    request_id: str | None,
) -> dict[str, Any]:
    """A deleted record created again with its id and its last values, by a caller that could
    read it as it was and may create it."""
    view, principal, writer = scope.view(entity), scope.principal, mutations.writer
    if view.rule("create") is False:
        raise Forbidden(f"your roles do not allow you to create a {entity.name}")
    writable = [
        f for f in entity.fields if _restorable(entity, f) and view.write_refusal(f) is None
    ]
    given = {f.name: _logged(f, state) for f in writable}
    row = new_row(view, principal, given, scope.project.platform.today())
    row["id"] = record_id
    if entity.states and state.get(entity.states.field) is not None:
        row[entity.states.field] = state[entity.states.field]
    async with writer.unit(principal):
        try:
            await scope.allow(entity, "read", row)
        except Forbidden:
            raise NotFound(f"{entity.name} {record_id} not found") from None
        await check_references(scope, entity, row)
        await scope.allow(entity, "create", row)
        await check_unique(scope, entity, row)
        await writer.write_change(principal, Change(entity, "created", values=row), request_id)
    return present(view, row)


async def _entries(
    scope: CallerScope, entity: Entity, record_id: uuid.UUID
) -> list[dict[str, Any]]:
    """The record's timeline entries, oldest first, with their changes decoded."""
    tl = scope.registry.timeline
    query = tl.select(tl.id, tl.event, tl.changes, tl.at).where(
        tl.entity == entity.name, tl.record_id == record_id
    )
    if entity.tenant_scoped:
        query = query.where(tl.tenant_id == scope.principal.tenant_id)
    rows = await query.order_by(tl.at).run()
    for row in rows:
        if isinstance(row["changes"], str):
            row["changes"] = json.loads(row["changes"])
    return list(rows)
