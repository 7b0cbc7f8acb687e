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
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol

from redis.exceptions import RedisError
from saq import Queue, Worker
from saq.types import Context, PartialTimersDict

from runtime.service import RecordService
from runtime.workflows.actions.base import Outbound
from runtime.workflows.file_cleanup import files_to_remove, remove_files
from runtime.workflows.outbox_claims import (
    Claim,
    LostClaim,
    claim_events,
    from_message,
    lease_seconds,
    mark_done,
    renewing,
    to_message,
)
from runtime.workflows.runner import matching_workflows, prepare_runs, run_event
from runtime.workflows.schedule import scheduler_loop
from runtime.workflows.wake import Wakeup

log = logging.getLogger("plinth.workflows")
QUEUE_CAP = 20  # jobs (of up to 50 events) waiting before the relay stops claiming: short leases
BATCH_CONCURRENCY = 8  # records of one batch worked on side by side


def queue_name(database_url: str) -> str:
    """One queue per database, so deployments (and test runs) sharing a Redis never take each
    other's jobs."""
    return "plinth-events-" + hashlib.sha256(database_url.encode()).hexdigest()[:12]


def outbound_of(service: RecordService) -> Outbound:
    return Outbound.from_environment(service.project.platform.http_allow_hosts)


async def process(
    service: RecordService, event: dict[str, Any], claim: Claim, outbound: Outbound
) -> None:
    """Run one claimed event's workflows (see `process_batch`)."""
    await process_batch(service, [(event, claim)], outbound)


async def process_batch(
    service: RecordService,
    claimed: list[tuple[dict[str, Any], Claim]],
    outbound: Outbound,
    touch: Callable[[], Awaitable[Any]] | None = None,
) -> None:
    """Run the claimed events' workflows — one record's events in order, different records'
    side by side — then mark the finished events done in one statement, and release each
    other one until its earliest failed run is due. An event whose claim was lost meanwhile
    is left to its new holder."""
    finished: list[Claim] = []
    by_record: dict[Any, list[tuple[dict[str, Any], Claim]]] = {}
    for event, claim in claimed:
        by_record.setdefault(event["record_id"] or event["id"], []).append((event, claim))
    gate = asyncio.Semaphore(BATCH_CONCURRENCY)

    async def run_record(events: list[tuple[dict[str, Any], Claim]]) -> None:
        async with gate:
            for event, claim in events:
                await remove_files(service, event)  # replaced files, once the change committed
                try:
                    retry_at = await run_event(
                        service, event, runs.get(event["id"], []), claim, outbound
                    )
                except LostClaim:
                    log.warning("event %s: claim lost to another worker", event["id"])
                    continue
                if retry_at is None:
                    finished.append(claim)
                else:
                    await claim.release(retry_at, "a run failed; retried when due")

    async with renewing([claim for _, claim in claimed], touch):
        runs = await prepare_runs(service, [event for event, _ in claimed])
        outcomes = await asyncio.gather(
            *(run_record(events) for events in by_record.values()), return_exceptions=True
        )
        for outcome in outcomes:  # those events wait for their lease, then are claimed again
            if isinstance(outcome, BaseException):
                log.error("events left for a retry: %r", outcome)
        await mark_done(finished)


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
                await process_batch(service, claimed, outbound)
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
                watched = await _done_if_unwatched(service, claimed)
                if watched:
                    await enqueue(queue, [event for event, _ in watched], watched[0][1])
            except (RedisError, OSError) as error:  # Redis down: no traceback per poll
                log.warning("relay: %s; the events stay in the outbox", error)
                claimed = []
            except Exception:
                log.exception("relay failed; the events stay in the outbox")
                claimed = []
            if not claimed:
                await wakeup.wait()
    finally:
        await wakeup.close()


async def _done_if_unwatched(
    service: RecordService, claimed: list[tuple[dict[str, Any], Claim]]
) -> list[tuple[dict[str, Any], Claim]]:
    """Mark done at once the events no workflow watches and that remove no file (most
    updates, say); the others."""
    unwatched = [
        claim
        for event, claim in claimed
        if not matching_workflows(service, event) and not files_to_remove(event)
    ]
    await mark_done(unwatched)
    return [(event, claim) for event, claim in claimed if claim not in unwatched]


async def enqueue(queue: Queue, events: list[dict[str, Any]], claim: Claim) -> None:
    """One job for the events claimed together (they share the claim id), carrying them: a
    job that outlived its claim changes nothing, as its writes check the claim."""
    lease = math.ceil(lease_seconds())
    await queue.enqueue(
        "run_events_job",
        events=[to_message(event) for event in events],
        claim_id=str(claim.claim_id),
        key=f"claim:{claim.claim_id}",
        heartbeat=lease,  # a job whose worker died is swept within the lease
        timeout=max(300, lease),
        retries=1,  # one attempt: a retry is a new claim of the event (retry policy)
    )


class Models(Protocol):
    """The current model of `plinth worker` (runtime/live.py): jobs take its service when
    they start, the loops are started again on each new one."""

    async def ready(self, stop: asyncio.Event | None = None) -> Any: ...

    async def watch(self, stop: asyncio.Event) -> None: ...

    async def run_each(
        self,
        loop: Callable[[RecordService, asyncio.Event], Coroutine[Any, Any, None]],
        stop: asyncio.Event,
    ) -> None: ...


def saq_worker(models: Models, queue: Queue, concurrency: int = 10) -> Worker[Context]:
    """SAQ's worker; each job runs on the model current when it starts."""

    async def run_events_job(ctx: Context, *, events: list[dict[str, Any]], claim_id: str) -> None:
        service = (await models.ready()).service
        outbound = outbound_of(service)
        claim = uuid.UUID(claim_id)
        claimed = [
            (event, Claim(service.registry, event["id"], claim))
            for event in map(from_message, events)
        ]
        job = ctx.get("job")
        await process_batch(service, claimed, outbound, job.update if job is not None else None)

    return Worker(
        queue,
        functions=[("run_events_job", run_events_job)],
        concurrency=concurrency,
        timers=PartialTimersDict(  # SAQ's defaults, but sweep within half a lease
            schedule=1, worker_info=10, abort=1, sweep=max(1, math.ceil(lease_seconds() / 2))
        ),
    )


async def run_redis_worker(models: Models, redis_url: str, database_url: str) -> None:
    """`plinth worker`: the relay, the scheduler and a SAQ worker in one process, until
    SIGINT/SIGTERM, each on the current model (switched by `models.watch`)."""
    queue = Queue.from_url(redis_url, name=queue_name(database_url))
    await queue.connect()
    stop = asyncio.Event()

    async def relay(service: RecordService, stop: asyncio.Event) -> None:
        await relay_loop(service, queue, stop)

    worker = saq_worker(models, queue)
    loops = [
        asyncio.create_task(models.watch(stop)),
        asyncio.create_task(models.run_each(relay, stop)),
        asyncio.create_task(models.run_each(scheduler_loop, stop)),
    ]
    try:
        await worker.start()
    finally:
        stop.set()
        await asyncio.gather(*loops, return_exceptions=True)
        await queue.disconnect()
