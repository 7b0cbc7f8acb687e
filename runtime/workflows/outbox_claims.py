"""Claim outbox events for processing, hold the claim while working, and mark them done.

A claim is a lease: `claimed_at` plus `lease_seconds()`, renewed by the worker that holds it
(`renewing`) and identified by `claim_id`. An event whose worker died (kill -9, a lost Redis
job) is claimed again once its lease expires, by a new claim id; the old holder's writes to its
runs are then refused (`Claim.held`; the runner raises `LostClaim`), and since every database
action commits with its run's progress, nothing is applied twice. An event is
done (`dispatched_at` set) when every workflow it triggers has finished; one whose run failed
is released with `available_at` set to when that run is due again. Delivery is at-least-once.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from runtime.database import is_postgres, write_transaction
from runtime.schema.registry import Registry

DEFAULT_LEASE_SECONDS = 30.0


def lease_seconds() -> float:
    """How long a claim lasts without renewal (PLINTH_WORKFLOW_LEASE, seconds): how soon the
    events of a worker that died are taken over."""
    raw = os.environ.get("PLINTH_WORKFLOW_LEASE")
    return float(raw) if raw else DEFAULT_LEASE_SECONDS


class LostClaim(Exception):
    """The claim expired and another worker holds the event now: write nothing more."""


@dataclass(frozen=True, slots=True)
class Claim:
    """One worker's hold on one event (the events claimed together share a claim id)."""

    registry: Registry
    event_id: uuid.UUID
    claim_id: uuid.UUID

    def held(self) -> Any:
        """A condition true while the claim is ours: `runs.event_id.is_in(claim.held())`
        makes a write to the run refuse itself once another worker took the event over."""
        outbox = self.registry.outbox
        return outbox.select(outbox.id).where(
            outbox.id == self.event_id, outbox.claim_id == self.claim_id
        )

    async def release(self, retry_at: dt.datetime, error: str) -> None:
        """Give the event back until `retry_at`, when its earliest failed run is due."""
        outbox = self.registry.outbox
        values = {
            outbox.last_error: error,
            outbox.available_at: retry_at,
            outbox.claim_id: None,
            outbox.claimed_at: None,
        }
        await (
            outbox.update(values)
            .where(outbox.id == self.event_id, outbox.claim_id == self.claim_id)
            .run()
        )


@contextlib.asynccontextmanager
async def renewing(
    claims: list[Claim], touch: Callable[[], Awaitable[Any]] | None = None
) -> AsyncIterator[None]:
    """Renew the leases of `claims` in the background while the body works on their events
    (and `touch` the SAQ job's heartbeat with them)."""
    if not claims:
        yield
        return
    outbox = claims[0].registry.outbox

    async def renew() -> None:
        while True:
            await asyncio.sleep(lease_seconds() / 3)
            for claim_id in {c.claim_id for c in claims}:
                await (
                    outbox.update({outbox.claimed_at: dt.datetime.now(dt.UTC)})
                    .where(outbox.claim_id == claim_id, outbox.dispatched_at.is_null())
                    .run()
                )
            if touch is not None:
                await touch()

    task = asyncio.create_task(renew())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


async def mark_done(claims: list[Claim]) -> None:
    """The events of `claims` are done: every run they trigger finished."""
    if not claims:
        return
    outbox = claims[0].registry.outbox
    now = dt.datetime.now(dt.UTC)
    for claim_id in {c.claim_id for c in claims}:
        ids = [c.event_id for c in claims if c.claim_id == claim_id]
        await (
            outbox.update({outbox.dispatched_at: now, outbox.last_error: None})
            .where(outbox.id.is_in(ids), outbox.claim_id == claim_id)
            .run()
        )


async def claim_events(registry: Registry, limit: int = 50) -> list[tuple[dict[str, Any], Claim]]:
    """Up to `limit` events that are due and not held by a live claim, oldest first."""
    outbox = registry.outbox
    name = outbox._meta.tablename
    now = dt.datetime.now(dt.UTC)
    expired = now - dt.timedelta(seconds=lease_seconds())
    lock = "FOR UPDATE SKIP LOCKED" if is_postgres(registry.engine) else ""
    claim_id = uuid.uuid4()
    async with write_transaction(registry.engine):
        rows = await outbox.raw(
            f'SELECT "id" FROM "{name}" WHERE "dispatched_at" IS NULL '
            'AND ("available_at" IS NULL OR "available_at" <= {}) '
            'AND ("claimed_at" IS NULL OR "claimed_at" < {}) '
            f'ORDER BY "created_at" LIMIT {int(limit)} {lock}',
            now,
            expired,
        ).run()
        ids = [row["id"] for row in rows]
        if not ids:
            return []
        await (
            outbox.update(
                {
                    outbox.claimed_at: now,
                    outbox.claim_id: claim_id,
                    outbox.attempts: outbox.attempts + 1,
                }
            )
            .where(outbox.id.is_in(ids))
            .run()
        )
        claimed: list[dict[str, Any]] = (
            await outbox.select().where(outbox.id.is_in(ids)).order_by(outbox.created_at).run()
        )
    return [(event, Claim(registry, event["id"], claim_id)) for event in claimed]


async def claim_event(
    registry: Registry, event_id: uuid.UUID
) -> tuple[dict[str, Any], Claim] | None:
    """Claim one event now (a run retried by hand), unless it is done or a live claim holds it."""
    outbox = registry.outbox
    now = dt.datetime.now(dt.UTC)
    expired = now - dt.timedelta(seconds=lease_seconds())
    claim_id = uuid.uuid4()
    free = (outbox.claimed_at.is_null()) | (outbox.claimed_at < expired)
    taken = (
        await outbox.update({outbox.claimed_at: now, outbox.claim_id: claim_id})
        .where(outbox.id == event_id, outbox.dispatched_at.is_null(), free)
        .returning(outbox.id)
        .run()
    )
    event = await load_event(registry, event_id) if taken else None
    return (event, Claim(registry, event_id, claim_id)) if event else None


_MESSAGE_FIELDS = ("entity", "event", "transition", "actor", "payload")
_MESSAGE_IDS = ("id", "tenant_id", "record_id")


def to_message(event: dict[str, Any]) -> dict[str, Any]:
    """What a SAQ job needs of a claimed event, as JSON (so the job reads no row)."""
    message = {name: event[name] for name in _MESSAGE_FIELDS}
    message |= {name: str(event[name]) if event[name] else None for name in _MESSAGE_IDS}
    return message


def from_message(message: dict[str, Any]) -> dict[str, Any]:
    event = {name: message[name] for name in _MESSAGE_FIELDS}
    event |= {name: uuid.UUID(message[name]) if message[name] else None for name in _MESSAGE_IDS}
    return event


async def load_event(registry: Registry, event_id: Any) -> dict[str, Any] | None:
    outbox = registry.outbox
    event: dict[str, Any] | None = await outbox.select().where(outbox.id == event_id).first().run()
    return event
