"""The append-only timeline: one entry per change, written inside the change's transaction."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from runtime.access import Principal
from runtime.definitions.model import Entity
from runtime.service.values import to_json

MASK = "***"


def diff(entity: Entity, old: dict[str, Any], new: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Changed fields as {field: {"old", "new"}}, JSON-ready; hidden fields masked."""
    changes: dict[str, dict[str, Any]] = {}
    for field in entity.fields:
        before, after = old.get(field.name), new.get(field.name)
        if before is after or to_json(before) == to_json(after):
            continue
        if field.hidden:
            changes[field.name] = {"old": MASK, "new": MASK}
        else:
            changes[field.name] = {"old": to_json(before), "new": to_json(after)}
    return changes


def entry(
    *,
    principal: Principal,
    entity: Entity,
    record_id: uuid.UUID,
    event: str,
    changes: dict[str, Any],
    transition: str | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """The timeline row of one change (the service writes it with the change)."""
    return {
        "id": uuid.uuid4(),
        "tenant_id": principal.tenant_id if entity.tenant_scoped else None,
        "entity": entity.name,
        "record_id": record_id,
        "actor_id": principal.user_id,
        "actor": principal.actor,
        "event": event,
        "transition": transition,
        "changes": json.dumps(changes),
        "request_id": request_id,
        "at": dt.datetime.now(dt.UTC),
    }


def entry_to_json(row: dict[str, Any]) -> dict[str, Any]:
    changes = row["changes"]
    return {
        "id": str(row["id"]),
        "at": to_json(row["at"]),
        "actor": row["actor"],
        "event": row["event"],
        "transition": row["transition"],
        "changes": json.loads(changes) if isinstance(changes, str) else changes,
    }
