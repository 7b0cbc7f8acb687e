"""Runs retried as their workflow's `retry` says, through the outbox (the same in-process and
on SAQ): failed → due again after the backoff → dead after the last attempt; a run whose
record was deleted is skipped; a claim whose lease expired is taken over, and its old holder
writes nothing; on PostgreSQL a commit wakes the relay (LISTEN/NOTIFY)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from runtime.definitions.model import Retry
from runtime.workflows import wake
from runtime.workflows.backoff import retry_delay
from runtime.workflows.outbox_claims import claim_events
from runtime.workflows.wake import Wakeup
from runtime.workflows.workers import process
from tests.workflows.lab import lab, write_definitions

TICKET = """\
    entity: Ticket
    fields:
      subject: {type: string, required: true}
      code:    {type: string, unique: true}
"""
# Stamps a ticket's code from its subject: fails while another ticket holds that code.
STAMP = """\
    workflow: stamp
    on: {event: created, entity: Ticket}
    when: {code: {isnull: true}}
    do:
      - update: {code: "{{ record.subject }}"}
    retry: {attempts: %d, backoff: exponential, initial: 1s, max: 10m}
"""


def _definitions(root: Path, attempts: int) -> Path:
    files = {"entities/ticket.yaml": TICKET, "workflows/stamp.yaml": STAMP % attempts}
    return write_definitions(root / "definitions", files)


def test_the_backoff_of_each_kind() -> None:
    exponential = Retry(attempts=9, backoff="exponential", initial_seconds=2, max_seconds=10)
    assert [retry_delay(exponential, n) for n in (1, 2, 3, 4)] == [2, 4, 8, 10]
    linear = Retry(attempts=9, backoff="linear", initial_seconds=2, max_seconds=5)
    assert [retry_delay(linear, n) for n in (1, 2, 3)] == [2, 4, 5]
    fixed = Retry(attempts=9, backoff="fixed", initial_seconds=3, max_seconds=600)
    assert [retry_delay(fixed, n) for n in (1, 5)] == [3, 3]


async def _wait_until_due(lab_, seconds: float) -> None:
    """Nothing is claimable before the run is due; then it is."""
    assert await claim_events(lab_.service.registry) == []
    await asyncio.sleep(seconds)


async def test_a_failing_run_is_retried_with_backoff_then_succeeds(
    database_url: str, tmp_path: Path
) -> None:
    async with lab(database_url, tmp_path, _definitions(tmp_path, attempts=3)) as lab_:
        service, owner = lab_.service, lab_.owner
        blocker = await service.create(owner, "Ticket", {"subject": "one", "code": "clash"})
        ticket = await service.create(owner, "Ticket", {"subject": "clash"})
        await lab_.drain()
        [skipped, run] = await lab_.runs()
        assert skipped["status"] == "skipped" and skipped["last_error"] == "'when' did not match"
        assert (run["status"], run["attempts"]) == ("failed", 1)
        assert "another Ticket has code = 'clash'" in run["last_error"]
        first_wait = (run["next_attempt_at"] - run["updated_at"]).total_seconds()
        assert 0.9 <= first_wait <= 1.1  # initial: 1s

        await _wait_until_due(lab_, 1.05)
        assert await lab_.drain() == 1
        run = (await lab_.runs())[1]
        assert (run["status"], run["attempts"]) == ("failed", 2)
        second_wait = (run["next_attempt_at"] - run["updated_at"]).total_seconds()
        assert 1.9 <= second_wait <= 2.1  # doubled

        await service.update(owner, "Ticket", blocker["id"], {"code": "other"})
        await lab_.drain()  # the blocker's own event: no run for it is due
        await _wait_until_due(lab_, 2.05)
        await lab_.drain()
        run = (await lab_.runs())[1]
        assert (run["status"], run["attempts"], run["last_error"]) == ("succeeded", 3, None)
        stamped = await service.get(owner, "Ticket", ticket["id"])
        assert (stamped["code"], stamped["version"]) == ("clash", 2)
        outbox = service.registry.outbox
        pending = await outbox.count().where(outbox.dispatched_at.is_null()).run()
        assert pending == 0


async def test_after_the_last_attempt_the_run_is_dead_and_the_event_done(
    database_url: str, tmp_path: Path
) -> None:
    async with lab(database_url, tmp_path, _definitions(tmp_path, attempts=1)) as lab_:
        service, owner = lab_.service, lab_.owner
        await service.create(owner, "Ticket", {"subject": "one", "code": "clash"})
        await service.create(owner, "Ticket", {"subject": "clash"})
        await lab_.drain()
        run = (await lab_.runs())[1]
        assert (run["status"], run["attempts"], run["next_attempt_at"]) == ("dead", 1, None)
        assert "UniqueConflict" in run["last_error"]
        outbox = service.registry.outbox
        assert await outbox.count().where(outbox.dispatched_at.is_null()).run() == 0


async def test_a_run_whose_record_was_deleted_is_skipped(database_url: str, tmp_path: Path) -> None:
    async with lab(database_url, tmp_path, _definitions(tmp_path, attempts=3)) as lab_:
        service, owner = lab_.service, lab_.owner
        ticket = await service.create(owner, "Ticket", {"subject": "gone"})
        await service.delete(owner, "Ticket", ticket["id"])
        await lab_.drain()
        [run] = await lab_.runs()
        assert (run["status"], run["attempts"]) == ("skipped", 1)
        assert f"the Ticket {ticket['id']} was deleted before the workflow ran" in run["last_error"]


async def test_an_expired_claim_is_taken_over_and_its_old_holder_writes_nothing(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLINTH_WORKFLOW_LEASE", "0.6")
    async with lab(database_url, tmp_path, _definitions(tmp_path, attempts=3)) as lab_:
        service, owner = lab_.service, lab_.owner
        ticket = await service.create(owner, "Ticket", {"subject": "once"})
        [(event, dead_worker)] = await claim_events(service.registry)
        assert await claim_events(service.registry) == []  # held by a live lease
        await asyncio.sleep(0.7)  # ... which its worker stopped renewing
        [(same, successor)] = await claim_events(service.registry)
        assert same["id"] == event["id"] and successor.claim_id != dead_worker.claim_id

        await process(service, event, dead_worker, lab_.outbound)  # wakes up late
        assert (await service.get(owner, "Ticket", ticket["id"]))["version"] == 1
        await process(service, same, successor, lab_.outbound)
        stamped = await service.get(owner, "Ticket", ticket["id"])
        assert (stamped["code"], stamped["version"]) == ("once", 2)  # applied once
        [run] = await lab_.runs()
        assert run["status"] == "succeeded"


@pytest.mark.postgres
async def test_a_commit_wakes_the_relay_on_postgres(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wake, "POLL_SECONDS", 60.0)  # only a NOTIFY can end the wait in time
    async with lab(postgres_url, tmp_path, _definitions(tmp_path, attempts=1)) as lab_:
        wakeup = Wakeup(lab_.service.registry, asyncio.Event())
        try:
            await wakeup.listen()
            waiting = asyncio.create_task(wakeup.wait())
            await asyncio.sleep(0.1)
            assert not waiting.done()
            await lab_.service.create(lab_.owner, "Ticket", {"subject": "ping"})
            await asyncio.wait_for(waiting, timeout=10)  # not the 60 s poll
        finally:
            await wakeup.close()
