"""The latest changes across entities (the admin's home page): timeline entries of the
records the caller may read now, newest first, with the fields it may not read left out of
`changes`, as `Reader.timeline` does for one record."""

from __future__ import annotations

import uuid
from typing import Any

from runtime.service import timeline
from runtime.service.scope import CallerScope


async def recent_changes(scope: CallerScope, limit: int) -> list[dict[str, Any]]:
    """Up to `limit` entries (each with its `entity` and `record_id`), newest first. A record
    the caller cannot read now (its row rule, or deleted) contributes nothing."""
    entries: list[dict[str, Any]] = []
    tl = scope.registry.timeline
    async with scope.wall():
        for entity in scope.project.entities.values():
            view = scope.view(entity)
            if view.rule("read") is False:
                continue
            query = tl.select().where(tl.entity == entity.name)
            if entity.tenant_scoped:
                query = query.where(tl.tenant_id == scope.principal.tenant_id)
            rows = await query.order_by(tl.at, ascending=False).limit(limit).run()
            readable_ids = await _readable(scope, entity, {r["record_id"] for r in rows})
            fields = {f.name for f in entity.fields if view.may_read(f)}
            for row in rows:
                if row["record_id"] not in readable_ids:
                    continue
                entry = timeline.entry_to_json(row)
                entry["changes"] = {k: v for k, v in entry["changes"].items() if k in fields}
                entries.append({**entry, "entity": entity.name, "record_id": str(row["record_id"])})
    entries.sort(key=lambda e: e["at"], reverse=True)
    return entries[:limit]


async def _readable(scope: CallerScope, entity: Any, ids: set[uuid.UUID]) -> set[uuid.UUID]:
    rows = await scope.fetch_many(entity, list(ids))
    return {row["id"] for row in rows}
