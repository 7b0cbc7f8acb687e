"""The outbox: one event per change, in the change's transaction; workers consume it."""

from __future__ import annotations

import json
import uuid
from typing import Any

from piccolo.table import Table

from runtime.access import Principal
from runtime.definitions.model import Entity


async def append_event(
    table: type[Table],
    *,
    principal: Principal,
    entity: Entity,
    record_id: uuid.UUID,
    event: str,
    payload: dict[str, Any],
    transition: str | None = None,
) -> uuid.UUID:
    """Write one event; its UUID travels with every action it triggers (idempotency key)."""
    event_id = uuid.uuid4()
    await table.insert(
        table(
            id=event_id,
            tenant_id=principal.tenant_id if entity.tenant_scoped else None,
            entity=entity.name,
            record_id=record_id,
            event=event,
            transition=transition,
            actor=principal.actor,
            payload=json.dumps(payload),
        )
    ).run()
    return event_id
