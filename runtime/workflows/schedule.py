"""The `schedule` trigger: a workflow whose `on` has a cron fires once per tick in each
organization, however many workers run.

The cron is read in platform.yaml's `timezone`. Every worker (in-process or `plinth worker`)
runs `scheduler_loop`; a tick fires through the `schedule_tick` table: the worker whose insert
of (workflow, tick) wins writes the tick's outbox events — one per organization — in the same
transaction, so a tick is neither lost nor doubled. Only the latest due tick fires: ticks
missed while no worker ran fire once, on start. A schedule never seen before (no tick row)
records its latest tick as a baseline without firing, so a deploy at 15:00 does not run a
daily 08:00 job at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import uuid
from collections.abc import Callable
from zoneinfo import ZoneInfo

from croniter import croniter

from runtime.database import write_transaction
from runtime.definitions.model import Workflow
from runtime.schema.registry import Registry
from runtime.service import RecordService
from runtime.service import outbox as outbox_rows

log = logging.getLogger("plinth.workflows")
MAX_WAIT = 5.0  # seconds between checks at most, so a changed clock is noticed soon
Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def latest_tick(cron: str, timezone: str, now: dt.datetime) -> dt.datetime:
    """The last tick of `cron` (read in `timezone`) at or before `now`, in UTC."""
    local = now.astimezone(ZoneInfo(timezone))
    before: dt.datetime = croniter(cron, local).get_prev(dt.datetime)  # strictly before
    at: dt.datetime = croniter(cron, before).get_next(dt.datetime)  # `now` itself, if a tick
    return (at if at <= local else before).astimezone(dt.UTC)


def next_tick(cron: str, timezone: str, now: dt.datetime) -> dt.datetime:
    """The first tick of `cron` after `now`, in UTC."""
    local = now.astimezone(ZoneInfo(timezone))
    after: dt.datetime = croniter(cron, local).get_next(dt.datetime)
    return after.astimezone(dt.UTC)


def due(latest: dt.datetime, last: dt.datetime | None) -> str:
    """What to do about the latest tick given the last one recorded: "baseline" (first
    sight: record it, fire nothing), "fire", or "none" (recorded already)."""
    if last is None:
        return "baseline"
    return "fire" if latest > last else "none"


def schedules(service: RecordService) -> list[Workflow]:
    return [
        wf for wf in service.project.workflows.values() if wf.on.event == "schedule" and wf.on.cron
    ]


async def last_tick(registry: Registry, workflow: str) -> dt.datetime | None:
    ticks = registry.schedule_tick
    row = (
        await ticks.select(ticks.tick)
        .where(ticks.workflow == workflow)
        .order_by(ticks.tick, ascending=False)
        .first()
        .run()
    )
    return None if row is None else _utc(row["tick"])


def _utc(value: dt.datetime | str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)


async def record_tick(
    registry: Registry, workflow: str, tick: dt.datetime, fire: bool = True
) -> int | None:
    """Insert (workflow, tick) and, when `fire` and this insert won, one outbox event per
    organization, in one transaction. The number of events written; None when another worker
    recorded the tick first."""
    ticks = registry.schedule_tick
    async with write_transaction(registry.engine):
        won = (
            await ticks.insert(ticks(id=uuid.uuid4(), workflow=workflow, tick=tick))
            .on_conflict(action="DO NOTHING")
            .returning(ticks.id)
            .run()
        )
        if not won:
            return None
        if not fire:
            return 0
        org = registry.organization
        tenants = [row["id"] for row in await org.select(org.id).run()]
        events = [tick_event(workflow, tick, tenant) for tenant in tenants]
        if events:
            await registry.outbox.insert(*(registry.outbox(**e) for e in events)).run()
        return len(events)


def tick_event(workflow: str, tick: dt.datetime, tenant_id: uuid.UUID) -> dict[str, object]:
    """The outbox row of one organization's run of a tick (no entity, no record)."""
    change = {
        "tenant_id": tenant_id,
        "entity": None,
        "record_id": None,
        "event": "schedule",
        "transition": None,
        "actor": f"schedule:{workflow}",
    }
    payload = {"workflow": workflow, "tick": tick.isoformat().replace("+00:00", "Z")}
    return outbox_rows.event(change=change, payload=payload)


async def check(
    service: RecordService, now: dt.datetime, seen: dict[str, dt.datetime] | None = None
) -> dict[str, str]:
    """One pass: fire (or baseline) each schedule's latest tick unless it is recorded. `seen`
    (workflow → tick this process knows is recorded) spares the database a read per pass.
    What each workflow's pass did: "baseline", "fired", "taken" (another worker won) or
    "none"."""
    seen = {} if seen is None else seen
    done: dict[str, str] = {}
    timezone = service.project.platform.timezone
    for workflow in schedules(service):
        latest = latest_tick(workflow.on.cron or "", timezone, now)
        if seen.get(workflow.name) == latest:
            continue
        action = due(latest, await last_tick(service.registry, workflow.name))
        if action != "none":
            written = await record_tick(
                service.registry, workflow.name, latest, fire=action == "fire"
            )
            action = "taken" if written is None else ("fired" if action == "fire" else action)
            if action == "fired":
                log.info("schedule %s: tick %s fired (%d events)", workflow.name, latest, written)
        seen[workflow.name] = latest
        done[workflow.name] = action
    return done


def seconds_to_next(service: RecordService, now: dt.datetime, max_wait: float) -> float:
    """How long to sleep: until the next tick of any schedule, at most `max_wait`."""
    timezone = service.project.platform.timezone
    wait = max_wait
    for workflow in schedules(service):
        ahead = (next_tick(workflow.on.cron or "", timezone, now) - now).total_seconds()
        wait = min(wait, ahead)
    return max(wait, 0.01)


async def scheduler_loop(
    service: RecordService,
    stop: asyncio.Event,
    clock: Clock = utc_now,
    max_wait: float = MAX_WAIT,
) -> None:
    """Until `stop`: check the schedules, then sleep until the next tick (or `max_wait`)."""
    if not schedules(service):
        return
    seen: dict[str, dt.datetime] = {}
    while not stop.is_set():
        try:
            await check(service, clock(), seen)
        except Exception:
            log.exception("schedule check failed; retrying")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=seconds_to_next(service, clock(), max_wait))
