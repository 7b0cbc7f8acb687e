"""The two ways events get processed.

- In-process (no PLINTH_REDIS_URL): a loop inside `plinth serve` claims events and runs them.
- SAQ on Redis (`plinth worker`): a relay loop claims events and enqueues one job per event
  (job key = event id); SAQ workers, in any number of processes, run them.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import uuid
from typing import Any

from saq import Queue, Worker
from saq.types import Context

from runtime.service import RecordService
from runtime.workflows.outbox_claims import claim_events, load_event, mark_done
from runtime.workflows.runner import run_event

log = logging.getLogger("plinth.workflows")
POLL_SECONDS = 0.5


def queue_name(database_url: str) -> str:
    """One queue per database, so deployments (and test runs) sharing a Redis never take each
    other's jobs."""
    return "plinth-events-" + hashlib.sha256(database_url.encode()).hexdigest()[:12]


async def process(service: RecordService, event: dict[str, Any]) -> None:
    """Run one event's workflows; done when they all finished, else left for a retry."""
    try:
        await run_event(service, event)
    except Exception as error:
        await mark_done(service.registry, event["id"], error=str(error))
        raise
    await mark_done(service.registry, event["id"])


async def in_process_loop(service: RecordService, stop: asyncio.Event) -> None:
    """The embedded default: claim and run events in this process until `stop` is set."""
    while not stop.is_set():
        events: list[Any] = []
        try:
            events = await claim_events(service.registry)
            for event in events:
                try:
                    await process(service, event)
                except Exception:
                    log.warning("event %s failed; it will be claimed again", event["id"])
        except Exception:
            log.exception("outbox poll failed; retrying")
        if not events:
            await _sleep(stop)


async def _sleep(stop: asyncio.Event) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), POLL_SECONDS)


async def relay_loop(service: RecordService, queue: Queue, stop: asyncio.Event) -> None:
    """Outbox → Redis. An event whose enqueue fails stays claimable after its lease."""
    while not stop.is_set():
        events: list[Any] = []
        try:
            events = await claim_events(service.registry)
            for event in events:
                await queue.enqueue(
                    "run_event_job",
                    event_id=str(event["id"]),
                    key=str(event["id"]),
                    timeout=300,
                    retries=5,
                    retry_delay=1.0,
                    retry_backoff=True,
                )
        except Exception:
            log.exception("relay failed; the events stay in the outbox")
        if not events:
            await _sleep(stop)


def saq_worker(service: RecordService, queue: Queue, concurrency: int = 10) -> Worker[Context]:
    async def run_event_job(ctx: Context, *, event_id: str) -> None:
        event = await load_event(service.registry, uuid.UUID(event_id))
        if event is None or event["dispatched_at"] is not None:
            return
        await process(service, event)

    worker = Worker(queue, functions=[("run_event_job", run_event_job)], concurrency=concurrency)
    return worker


async def run_redis_worker(service: RecordService, redis_url: str, database_url: str) -> None:
    """`plinth worker`: the relay and a SAQ worker in one process, until SIGINT/SIGTERM."""
    queue = Queue.from_url(redis_url, name=queue_name(database_url))
    await queue.connect()
    stop = asyncio.Event()
    worker = saq_worker(service, queue)
    relay = asyncio.create_task(relay_loop(service, queue, stop))
    try:
        await worker.start()
    finally:
        stop.set()
        await relay
        await queue.disconnect()
