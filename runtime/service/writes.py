"""The one write path. `write_change` commits a change's row, its timeline entry and its outbox
event together, and alone chooses how:
- inside a verb's unit of work (`ChangeWriter.unit`, opened by a verb that reads before it
  writes): as part of that transaction;
- a create with nothing to read first, on PostgreSQL with the wall's pool and no caller's
  transaction running: ONE autocommit statement (`_rows.insert_at_once`);
- otherwise: in a unit of its own (a transaction, or a savepoint in the caller's)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from runtime.access import Principal
from runtime.database import PlinthPostgresEngine, is_postgres
from runtime.definitions.model import Entity
from runtime.fields import file_refs
from runtime.schema.registry import Registry
from runtime.service import outbox, timeline
from runtime.service._rows import Rows, insert_at_once, insert_rows, update_with_rows
from runtime.service.errors import StaleVersion
from runtime.service.tenancy import single_statement_tenant, write_scope
from runtime.service.values import to_json

# The transaction of the unit of work running in this context, if any.
_unit: ContextVar[object | None] = ContextVar("plinth_write_unit", default=None)


@dataclass(frozen=True, slots=True)
class Change:
    """One row's change. `values`: the whole new row (created), the fields set (updated,
    transition), nothing (deleted)."""

    entity: Entity
    event: str  # "created" | "updated" | "transition" | "deleted"
    old: dict[str, Any] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    transition: str | None = None


class ChangeWriter:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    @asynccontextmanager
    async def unit(self, principal: Principal) -> AsyncIterator[None]:
        """One transaction inside the wall for a verb's reads and writes; `write_change`
        inside it joins it."""
        engine = self.registry.engine
        async with write_scope(engine, principal):
            token = _unit.set(engine.current_transaction.get())
            try:
                yield
            finally:
                _unit.reset(token)

    async def write_change(
        self, principal: Principal, change: Change, request_id: str | None
    ) -> dict[str, Any]:
        """Commit `change` with its timeline entry and outbox event; the row as written (an
        empty dict for a delete)."""
        engine = self.registry.engine
        current = engine.current_transaction.get()
        if current is not None and _unit.get() is current:
            return await self._commit(principal, change, request_id)
        if change.event == "created":
            tenant = await single_statement_tenant(engine, principal)
            # a tenant comes only with a PlinthPostgresEngine: the isinstance tells mypy so
            if tenant is not None and isinstance(engine, PlinthPostgresEngine):
                row = change.values
                rows: Rows = [(self.registry.table(change.entity), _stored(change.entity, row))]
                rows += change_rows(self.registry, principal, change, row, request_id)
                await insert_at_once(engine, tenant, rows)
                return row
        async with self.unit(principal):
            return await self._commit(principal, change, request_id)

    async def _commit(
        self, principal: Principal, change: Change, request_id: str | None
    ) -> dict[str, Any]:
        """The row's statement, then the timeline entry and the outbox event (with an
        INSERT, all three as one statement)."""
        rows: Rows = []
        if change.event == "created":
            new = change.values
            rows.append((self.registry.table(change.entity), _stored(change.entity, new)))
        elif change.event == "deleted":
            await self._delete(change.entity, change.old)
            new = {}
        elif is_postgres(self.registry.engine):  # the row, its entry and event: one statement
            return await self._update_at_once(principal, change, request_id)
        else:
            new = await self._update(principal, change.entity, change.old, change.values)
        rows += change_rows(self.registry, principal, change, new, request_id)
        await insert_rows(rows)
        return new

    async def _update_at_once(
        self, principal: Principal, change: Change, request_id: str | None
    ) -> dict[str, Any]:
        entity, old = change.entity, change.old
        stamp = {"updated_at": dt.datetime.now(dt.UTC), "updated_by": principal.user_id}
        new = old | change.values | stamp | {"version": old["version"] + 1}
        rows = change_rows(self.registry, principal, change, new, request_id)
        table = self.registry.table(entity)
        key = (old["id"], old["version"])
        if not await update_with_rows(table, _stored(entity, change.values) | stamp, key, rows):
            raise StaleVersion(stale(entity, None, old["version"]))
        return new

    async def _update(
        self, principal: Principal, entity: Entity, old: dict[str, Any], changes: dict[str, Any]
    ) -> dict[str, Any]:
        """UPDATE … SET changes, version = version + 1 WHERE id = ? AND version = ?."""
        table = self.registry.table(entity)
        now = dt.datetime.now(dt.UTC)
        assignments = {getattr(table, k): v for k, v in changes.items()}
        assignments |= {
            table.updated_at: now,
            table.updated_by: principal.user_id,
            table.version: table.version + 1,
        }
        updated = (
            await table.update(assignments)
            .where(table.id == old["id"], table.version == old["version"])
            .returning(table.id)
            .run()
        )
        if not updated:
            raise StaleVersion(stale(entity, None, old["version"]))
        return (
            old
            | changes
            | {
                "updated_at": now,
                "updated_by": principal.user_id,
                "version": old["version"] + 1,
            }
        )

    async def _delete(self, entity: Entity, old: dict[str, Any]) -> None:
        table = self.registry.table(entity)
        deleted = (
            await table.delete()
            .where(table.id == old["id"], table.version == old["version"])
            .returning(table.id)
            .run()
        )
        if not deleted:
            raise StaleVersion(stale(entity, None, old["version"]))


def change_rows(
    registry: Registry,
    principal: Principal,
    change: Change,
    new: dict[str, Any],
    request_id: str | None,
    record_id: uuid.UUID | None = None,
) -> Rows:
    """The timeline entry (when the entity keeps one) and the outbox event of a change of
    `record_id` (by default the id of the row)."""
    entity, old = change.entity, change.old
    record_id = record_id or (new or old)["id"]
    changes = timeline.diff(entity, old, new)
    columns = {
        "tenant_id": principal.tenant_id if entity.tenant_scoped else None,
        "entity": entity.name,
        "record_id": record_id,
        "actor": principal.actor,
        "event": change.event,
        "transition": change.transition,
    }
    rows: Rows = []
    if entity.timeline:
        entry = timeline.entry(
            change=columns, actor_id=principal.user_id, changes=changes, request_id=request_id
        )
        rows.append((registry.timeline, entry))
    payload = {
        "record": _event_record(entity, new or old),
        "old": _event_record(entity, old) if old and new else None,
        "changed": sorted(changes),
        "user": outbox.user_of(principal),
    }
    if gone := replaced_files(entity, old, new):
        payload["remove_files"] = gone  # deleted by the worker, once this change committed
    rows.append((registry.outbox, outbox.event(change=columns, payload=payload)))
    return rows


def _event_record(entity: Entity, row: dict[str, Any]) -> dict[str, Any]:
    """A row as the outbox event carries it (JSON-ready); a file as records show it, so
    workflows never see where it is stored."""
    record = {k: to_json(v) for k, v in row.items()}
    for one in entity.fields:
        if one.type == "file" and record.get(one.name) is not None:
            url = f"/api/{entity.slug}/{row.get('id')}/files/{one.name}"
            record[one.name] = file_refs.shown(record[one.name], url)
    return record


def replaced_files(entity: Entity, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The storage keys of the files a change replaces or removes (all of them when the
    record is deleted): the outbox event carries them, so a rollback removes none."""
    keys = []
    for one in entity.fields:
        before = file_refs.key_of(old.get(one.name)) if one.type == "file" else None
        if before is not None and before != file_refs.key_of(new.get(one.name)):
            keys.append(before)
    return keys


def _stored(entity: Entity, row: dict[str, Any]) -> dict[str, Any]:
    """Row values as the database driver takes them: as they are, since json fields hold
    their JSON text already (values.json_text)."""
    return row


def stale(entity: Entity, current: int | None, expected: int) -> str:
    now = f" (it is now at version {current})" if current is not None else ""
    return f"{entity.name} changed since you read version {expected}{now}: reload and retry"
