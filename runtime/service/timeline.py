"""The append-only timeline: one entry per change, written inside the change's transaction."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from typing import Any

from runtime.definitions.model import Entity, Field
from runtime.fields import field_type
from runtime.service.ids import new_id
from runtime.service.values import json_dumps, to_json

MASK = "***"


def diff(entity: Entity, old: dict[str, Any], new: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Changed fields as {field: {"old", "new"}}, JSON-ready; hidden fields masked."""
    if not old:
        return created(entity, new)
    changes: dict[str, dict[str, Any]] = {}
    for field in entity.fields:
        before, after = old.get(field.name), new.get(field.name)
        if before is None and after is None:
            continue
        if before is after or to_json(before) == to_json(after) or _same_number(before, after):
            continue
        changes[field.name] = _change(field, before, after)
    return changes


def created(entity: Entity, new: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """`diff` from nothing (a create): every field `new` sets, with nothing to compare — an
    import writes thousands of these."""
    return {
        field.name: _change(field, None, after)
        for field in entity.fields
        if (after := new.get(field.name)) is not None
    }


def _change(field: Field, before: Any, after: Any) -> dict[str, Any]:
    if field.hidden:
        return {"old": MASK, "new": MASK}
    log = field_type(field.type).log
    if log is not None:  # a file: {name, size, sha256}, never the key or the bytes
        return {"old": log(before), "new": log(after)}
    return {"old": to_json(before), "new": to_json(after)}


def _same_number(before: Any, after: Any) -> bool:
    """10.5 and 10.50 are one decimal (SQLite gives back the first for the second)."""
    if not isinstance(before, Decimal | float | int) or not isinstance(
        after, Decimal | float | int
    ):
        return False
    if isinstance(before, bool) or isinstance(after, bool):
        return False
    return Decimal(str(before)) == Decimal(str(after))


def entry(
    *,
    change: dict[str, Any],
    actor_id: uuid.UUID | None,
    changes: dict[str, Any],
    request_id: str | None = None,
) -> dict[str, Any]:
    """The timeline row of one change (`change`: the columns it shares with the outbox
    event); the service writes it with the change."""
    return {
        "id": new_id(),
        **change,
        "actor_id": actor_id,
        "changes": json_dumps(changes),
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
