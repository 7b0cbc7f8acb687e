"""The two ways events get processed.

- In-process (no PLINTH_REDIS_URL): a loop inside `plinth serve` claims events and runs them.
- SAQ on Redis (`plinth worker`): a relay loop claims events and enqueues one job per claim
  (job key = event id and claim id, so an event claimed again after its worker died is a new
  job); SAQ workers, in any number of processes, run them.

Either way the claim is the lease (`outbox_claims.py`): renewed while the event is worked on,
taken over when it expires. A failed run's retry is the event claimed again when it is due, so
`retry` works the same in both; SAQ itself never retries a job.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from saq import Queue, Worker
from saq.types import Context, PartialTimersDict

from runtime.service import RecordService
from runtime.workflows.actions.base import Outbound
from runtime.workflows.outbox_claims import (
    Claim,
    LostClaim,
    claim_events,
    lease_seconds,
    load_event,
)
from runtime.workflows.runner import run_event
from runtime.workflows.schedule import scheduler_loop
from runtime.workflows.wake import Wakeup

log = logging.getLogger("plinth.workflows")
QUEUE_CAP = 200  # jobs waiting in Redis before the relay stops claiming (so leases stay short)


def queue_name(database_url: str) -> str:
    """One queue per database, so deployments (and test runs) sharing a Redis never take each
    other's jobs."""
    return "plinth-events-" + hashlib.sha256(database_url.encode()).hexdigest()[:12]


def outbound_of(service: RecordService) -> Outbound:
    return Outbound.from_environment(service.project.platform.http_allow_hosts)


async def process(
    service: RecordService,
    event: dict[str, Any],
    claim: Claim,
    outbound: Outbound,
    touch: Callable[[], Awaitable[Any]] | None = None,
) -> None:
    """Run one event's workflows under `claim`; then mark it done, or release it until its
    earliest failed run is due again. A claim lost meanwhile leaves the event to its new
    holder."""
    try:
        async with claim.renewing(touch):
            retry_at = await run_event(service, event, claim, outbound)
    except LostClaim:
        log.warning("event %s: claim lost to another worker", event["id"])
        return
    await claim.done(error=None if retry_at is None else "a run failed", retry_at=retry_at)


async def in_process_loop(service: RecordService, stop: asyncio.Event) -> None:
    """The embedded default: claim and run events in this process until `stop` is set (and
    fire the schedules' ticks beside it)."""
    outbound = outbound_of(service)
    wakeup = Wakeup(service.registry, stop)
    scheduler = asyncio.create_task(scheduler_loop(service, stop))
    try:
        while not stop.is_set():
            claimed: list[Any] = []
            try:
                claimed = await claim_events(service.registry)
                for event, claim in claimed:
                    try:
                        await process(service, event, claim, outbound)
                    except Exception:
                        log.exception("event %s failed; it will be claimed again", event["id"])
            except Exception:
                log.exception("outbox poll failed; retrying")
            if not claimed:
                await wakeup.wait()
    finally:
        stop.set()
        await scheduler
        await wakeup.close()


async def relay_loop(service: RecordService, queue: Queue, stop: asyncio.Event) -> None:
    """Outbox → Redis. An event whose enqueue fails stays claimed until its lease expires,
    then is claimed (and enqueued) again."""
    wakeup = Wakeup(service.registry, stop)
    try:
        while not stop.is_set():
            claimed: list[Any] = []
            try:
                if await queue.count("queued") < QUEUE_CAP:
                    claimed = await claim_events(service.registry)
                for event, claim in claimed:
                    await enqueue(queue, event["id"], claim.claim_id)
            except Exception:
                log.exception("relay failed; the events stay in the outbox")
                claimed = []
            if not claimed:
                await wakeup.wait()
    finally:
        await wakeup.close()


async def enqueue(queue: Queue, event_id: uuid.UUID, claim_id: uuid.UUID) -> None:
    lease = math.ceil(lease_seconds())
    await queue.enqueue(
        "run_event_job",
        event_id=str(event_id),
        claim_id=str(claim_id),
        key=f"{event_id}:{claim_id}",
        heartbeat=lease,  # a job whose worker died is swept within the lease
        timeout=max(300, lease),
        retries=1,  # one attempt: a retry is a new claim of the event (retry policy)
    )


def saq_worker(service: RecordService, queue: Queue, concurrency: int = 10) -> Worker[Context]:
    outbound = outbound_of(service)

    async def run_event_job(ctx: Context, *, event_id: str, claim_id: str) -> None:
        event = await load_event(service.registry, uuid.UUID(event_id))
        if event is None or event["dispatched_at"] is not None:
            return
        if str(event["claim_id"]) != claim_id:
            return  # claimed again since: the newer job has it
        job = ctx.get("job")
        touch = job.update if job is not None else None
        await process(
            service, event, Claim(service.registry, event["id"], event["claim_id"]), outbound, touch
        )

    return Worker(
        queue,
        functions=[("run_event_job", run_event_job)],
        concurrency=concurrency,
        timers=PartialTimersDict(  # SAQ's defaults, but sweep within half a lease
            schedule=1, worker_info=10, abort=1, sweep=max(1, math.ceil(lease_seconds() / 2))
        ),
    )


async def run_redis_worker(service: RecordService, redis_url: str, database_url: str) -> None:
    """`plinth worker`: the relay, the scheduler and a SAQ worker in one process, until
    SIGINT/SIGTERM."""
    queue = Queue.from_url(redis_url, name=queue_name(database_url))
    await queue.connect()
    stop = asyncio.Event()
    worker = saq_worker(service, queue)
    relay = asyncio.create_task(relay_loop(service, queue, stop))
    scheduler = asyncio.create_task(scheduler_loop(service, stop))
    try:
        await worker.start()
    finally:
        stop.set()
        await relay
        await scheduler
        await queue.disconnect()
