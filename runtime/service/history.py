"""A record's timeline as callers read it: newest first, a page at a time, only the fields the
caller may read; and still readable once the record is deleted, by the callers whose read
rule matched what the record last was (its `deleted` entry holds every value it had)."""

from __future__ import annotations

import uuid
from typing import Any

from piccolo.query import Select

from runtime.definitions.model import Entity
from runtime.fields import as_uuid
from runtime.filters import keyset
from runtime.filters.keyset import SortKey, order_terms
from runtime.schema.registry import Registry
from runtime.service import timeline
from runtime.service.errors import Forbidden, NotFound
from runtime.service.pages import Page, Sort
from runtime.service.queries import system_field
from runtime.service.recent import recent_changes
from runtime.service.scope import CallerScope
from runtime.service.values import Invalid, parse

MAX_LIMIT = 500
# Newest first; `id` orders entries written at the same instant (a bulk change).
ORDER = Sort(
    (SortKey("at", True, False), SortKey("id", True, False)),
    (system_field("created_at"), system_field("id")),
)


class History:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def _entries(self, scope: CallerScope, entity: Entity, record_id: uuid.UUID) -> Select[Any]:
        tl = self.registry.timeline
        query: Select[Any] = tl.select().where(tl.entity == entity.name, tl.record_id == record_id)
        if entity.tenant_scoped:  # another organization's record has no timeline here
            query = query.where(tl.tenant_id == scope.principal.tenant_id)
        return query

    async def page(
        self, scope: CallerScope, entity: Entity, record_id: Any, limit: int, after: Any
    ) -> Page:
        """Up to `limit` entries after the one whose (at, id) `after` holds; NotFound unless
        the caller may read the record, or read it when it was deleted."""
        tl = self.registry.timeline
        size = min(max(limit, 1), MAX_LIMIT)
        async with scope.wall():
            rid = as_uuid(record_id)
            found = await scope.fetch(entity, record_id) is not None
            if not found and (rid is None or not await self._was_readable(scope, entity, rid)):
                raise NotFound(f"{entity.name} {record_id} not found")
            assert rid is not None  # fetch found nothing for what is not a UUID
            query = self._entries(scope, entity, rid)
            if after is not None:
                query = query.where(keyset.after(tl, ORDER.keys, ORDER.typed(after)))
            for term, ascending in order_terms(tl, ORDER.keys):
                query = query.order_by(term, ascending=ascending)
            rows = await query.limit(size + 1).run()
        view = scope.view(entity)
        readable = {f.name for f in entity.fields if view.may_read(f)}
        entries = []
        for row in rows[:size]:
            entry = timeline.entry_to_json(row)
            entry["changes"] = {k: v for k, v in entry["changes"].items() if k in readable}
            entries.append(entry)
        return Page(entries, ORDER.following(rows[size - 1]) if len(rows) > size else None)

    async def recent(self, scope: CallerScope, limit: int) -> list[dict[str, Any]]:
        """The latest entries across entities (`recent.py`)."""
        return await recent_changes(scope, limit)

    async def _was_readable(self, scope: CallerScope, entity: Entity, rid: uuid.UUID) -> bool:
        """Was `rid` deleted, and does the caller's read rule match its last values?"""
        tl = self.registry.timeline
        newest = self._entries(scope, entity, rid).order_by(tl.at, ascending=False)
        last = await newest.order_by(tl.id, ascending=False).limit(2).run()
        if not last or last[0]["event"] != "deleted":
            return False
        created = await self._entries(scope, entity, rid).where(tl.event == "created").run()
        state = last_state(entity, rid, last, created[0] if created else None)
        try:
            await scope.allow(entity, "read", state)
        except Forbidden:
            return False
        return True


def last_state(
    entity: Entity, rid: uuid.UUID, last: list[dict[str, Any]], created: dict[str, Any] | None
) -> dict[str, Any]:
    """The row as it was when deleted, from its timeline: `last` is the `deleted` entry (with
    every value that was not NULL as `old`) and the entry before it, if any. A value that
    does not read back as its type (a hidden field's mask, a file's summary) is kept as the
    entry has it: a rule comparing it matches nothing."""
    deleted = last[0]
    state: dict[str, Any] = {"id": rid, "tenant_id": deleted["tenant_id"]}
    for field in entity.fields:
        state[field.name] = None
    for name, change in timeline.entry_to_json(deleted)["changes"].items():
        one = entity.field(name)
        if one is None or not isinstance(change, dict):
            continue
        try:
            state[name] = parse(one, change.get("old"))
        except Invalid:
            state[name] = change.get("old")
    if created is not None:
        state |= {"created_by": created["actor_id"], "created_at": created["at"]}
    before = last[1] if len(last) > 1 else created
    if before is not None:
        state |= {"updated_by": before["actor_id"], "updated_at": before["at"]}
    return state
