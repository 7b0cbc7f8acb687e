"""Claim outbox events for processing, and mark them done.

An event is done (`dispatched_at` set) only when every workflow it triggers has succeeded,
been skipped or dead-lettered; a claim expires after LEASE_SECONDS so that an event whose worker
or Redis job vanished is claimed again. Delivery is at-least-once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from runtime.database import is_postgres, write_transaction
from runtime.schema.registry import Registry

LEASE_SECONDS = 120


async def claim_events(registry: Registry, limit: int = 50) -> list[dict[str, Any]]:
    outbox = registry.outbox
    name = outbox._meta.tablename
    now = dt.datetime.now(dt.UTC)
    expired = now - dt.timedelta(seconds=LEASE_SECONDS)
    lock = "FOR UPDATE SKIP LOCKED" if is_postgres(registry.engine) else ""
    async with write_transaction(registry.engine):
        rows = await outbox.raw(
            f'SELECT "id" FROM "{name}" WHERE "dispatched_at" IS NULL '
            'AND ("claimed_at" IS NULL OR "claimed_at" < {}) '
            f'ORDER BY "created_at" LIMIT {int(limit)} {lock}',
            expired,
        ).run()
        ids = [row["id"] for row in rows]
        if not ids:
            return []
        await (
            outbox.update({outbox.claimed_at: now, outbox.attempts: outbox.attempts + 1})
            .where(outbox.id.is_in(ids))
            .run()
        )
        claimed: list[dict[str, Any]] = (
            await outbox.select().where(outbox.id.is_in(ids)).order_by(outbox.created_at).run()
        )
        return claimed


async def load_event(registry: Registry, event_id: Any) -> dict[str, Any] | None:
    outbox = registry.outbox
    event: dict[str, Any] | None = await outbox.select().where(outbox.id == event_id).first().run()
    return event


async def mark_done(registry: Registry, event_id: Any, error: str | None = None) -> None:
    outbox = registry.outbox
    values: dict[str, Any] = {outbox.last_error: error}
    if error is None:
        values[outbox.dispatched_at] = dt.datetime.now(dt.UTC)
    await outbox.update(values).where(outbox.id == event_id).run()
