"""The outbox: one event per change, in the change's transaction; workers consume it."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from runtime.access import Principal
from runtime.definitions.model import Entity


def event(
    *,
    principal: Principal,
    entity: Entity,
    record_id: uuid.UUID,
    event: str,
    payload: dict[str, Any],
    transition: str | None = None,
) -> dict[str, Any]:
    """The outbox row of one change; its UUID travels with every action it triggers."""
    return {
        "id": uuid.uuid4(),
        "tenant_id": principal.tenant_id if entity.tenant_scoped else None,
        "entity": entity.name,
        "record_id": record_id,
        "event": event,
        "transition": transition,
        "actor": principal.actor,
        "payload": json.dumps(payload),
        "created_at": dt.datetime.now(dt.UTC),
        "attempts": 0,
    }
