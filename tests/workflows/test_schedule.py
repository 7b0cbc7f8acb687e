"""The `schedule` trigger: ticks read in the platform's time zone, fired once per tick in each
organization however many schedulers race, missed ticks fired once, a first sight only noted.

The guide's `morning_review` example is the workflow under test (its cron rewritten to every
minute where the test runs against the real clock)."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from runtime.database import close_engine, engine_from_url, open_engine
from runtime.definitions import load_project
from runtime.schema import build_registry
from runtime.service import RecordService
from runtime.workflows.outbox_claims import claim_events
from runtime.workflows.schedule import check, due, latest_tick, next_tick, scheduler_loop
from runtime.workflows.workers import outbound_of, process
from tests.conftest import plinth, plinth_env, start_server, stop
from tests.workflows.guide import write_project

UTC = dt.UTC
NAME = "morning_review"
BERLIN = "Europe/Berlin"


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


# -- the tick computation (no database, no sleeping) ------------------------------------------


def test_the_cron_is_read_in_the_platform_timezone() -> None:
    winter, summer = at("2026-01-15 12:00"), at("2026-07-15 12:00")
    assert latest_tick("0 8 * * *", BERLIN, winter) == at("2026-01-15 07:00")
    assert latest_tick("0 8 * * *", BERLIN, summer) == at("2026-07-15 06:00")
    assert next_tick("0 8 * * *", BERLIN, winter) == at("2026-01-16 07:00")
    assert next_tick("0 8 * * *", BERLIN, summer) == at("2026-07-16 06:00")
    assert latest_tick("0 8 * * *", "UTC", winter) == at("2026-01-15 08:00")


def test_the_latest_due_tick_includes_now_and_skips_the_weekend() -> None:
    assert latest_tick("0 8 * * *", BERLIN, at("2026-01-15 07:00")) == at("2026-01-15 07:00")
    assert latest_tick("0 8 * * *", BERLIN, at("2026-01-15 06:59:59")) == at("2026-01-14 07:00")
    monday_early = at("2026-01-12 05:00")  # before Monday's tick: Friday's is the latest
    assert latest_tick("0 8 * * 1-5", BERLIN, monday_early) == at("2026-01-09 07:00")


def test_missed_ticks_give_one_tick_and_a_first_sight_is_a_baseline() -> None:
    friday = at("2026-01-09 07:00")  # recorded; the workers were down until Monday noon
    latest = latest_tick("0 8 * * *", BERLIN, at("2026-01-12 12:00"))
    assert latest == at("2026-01-12 07:00")  # Saturday's and Sunday's ticks are not caught up
    assert due(latest, friday) == "fire"
    assert due(latest, latest) == "none"
    assert due(latest, None) == "baseline"


# -- against a database -----------------------------------------------------------------------


def _definitions(folder: Path, cron: str | None = None) -> Path:
    write_project(folder, workflows=[NAME])
    if cron is not None:
        path = folder / "workflows" / f"{NAME}.yaml"
        block = yaml.safe_load(path.read_text())
        block["on"]["cron"] = cron  # written quoted: not YAML 1.1's True
        path.write_text(yaml.dump(block, sort_keys=False))
    return folder


async def _orgs(service: RecordService, count: int) -> list[uuid.UUID]:
    org = service.registry.organization
    ids = []
    for _ in range(count):
        slug = f"org-{uuid.uuid4().hex[:8]}"
        rows = await org.insert(org(slug=slug, name=slug)).returning(org.id).run()
        ids.append(rows[0]["id"])
    return ids


async def _open(database_url: str, folder: Path) -> AsyncIterator[RecordService]:
    """A migrated database holding the guide's project, and a service on it."""
    env = plinth_env(database_url, folder.parent, PLINTH_DEFINITIONS=str(folder))
    plinth("migrate", env=env, cwd=folder.parent)
    engine = engine_from_url(database_url)
    await open_engine(engine)
    try:
        yield RecordService(build_registry(load_project(folder), engine))
    finally:
        await close_engine(engine)


@pytest.fixture
async def service(database_url: str, tmp_path: Path) -> AsyncIterator[RecordService]:
    async for opened in _open(database_url, _definitions(tmp_path / "definitions")):
        yield opened


async def _ticks(service: RecordService) -> list[dt.datetime]:
    ticks = service.registry.schedule_tick
    rows = await ticks.select(ticks.tick).where(ticks.workflow == NAME).order_by(ticks.tick).run()
    return [_utc(r["tick"]) for r in rows]


def _utc(value: Any) -> dt.datetime:
    value = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return value.astimezone(UTC)


async def _events(service: RecordService) -> list[dict[str, Any]]:
    outbox = service.registry.outbox
    return await outbox.select().where(outbox.event == "schedule").run()


def _payload(event: dict[str, Any]) -> dict[str, Any]:
    import json

    payload = event["payload"]
    return json.loads(payload) if isinstance(payload, str) else payload


async def _notes(service: RecordService) -> list[dict[str, Any]]:
    note = service.registry.table("Note")
    return await note.select(note.tenant_id, note.body).run()


async def _drain(service: RecordService) -> None:
    outbound = outbound_of(service)
    while claimed := await claim_events(service.registry):
        for event, claim in claimed:
            await process(service, event, claim, outbound)


async def test_racing_schedulers_fire_a_tick_once_per_organization(
    service: RecordService,
) -> None:
    tenants = await _orgs(service, 2)
    monday = at("2026-01-12 07:30")  # first sight: Monday's 08:00 Berlin is noted, not run
    assert await check(service, monday) == {NAME: "baseline"}
    assert await check(service, monday) == {NAME: "none"}
    assert await _events(service) == []

    tuesday = at("2026-01-13 09:00")
    passes = await asyncio.gather(*(check(service, tuesday) for _ in range(6)))
    outcomes = sorted(p[NAME] for p in passes)
    assert outcomes.count("fired") == 1 and set(outcomes) <= {"fired", "taken", "none"}
    assert await _ticks(service) == [at("2026-01-12 07:00"), at("2026-01-13 07:00")]
    events = await _events(service)
    assert sorted(e["tenant_id"] for e in events) == sorted(tenants)
    for event in events:
        assert (event["entity"], event["record_id"], event["transition"]) == (None, None, None)
        assert event["actor"] == f"schedule:{NAME}"
        assert _payload(event) == {"workflow": NAME, "tick": "2026-01-13T07:00:00Z"}

    await _drain(service)
    notes = await _notes(service)
    assert sorted(n["tenant_id"] for n in notes) == sorted(tenants)
    assert {n["body"] for n in notes} == {"Morning review of open tickets (2026-01-13T07:00:00Z)"}
    runs = service.registry.workflow_run
    statuses = await runs.select(runs.status).where(runs.workflow == NAME).run()
    assert [r["status"] for r in statuses] == ["succeeded", "succeeded"]


async def test_a_scheduler_down_for_days_fires_the_latest_tick_once(
    service: RecordService,
) -> None:
    await _orgs(service, 1)
    assert await check(service, at("2026-01-08 12:00")) == {NAME: "baseline"}  # Thursday
    assert await check(service, at("2026-01-14 12:00")) == {NAME: "fired"}  # next Wednesday
    assert await _ticks(service) == [at("2026-01-08 07:00"), at("2026-01-14 07:00")]
    assert len(await _events(service)) == 1


async def test_the_scheduler_loop_sleeps_to_each_tick(sqlite_url: str, tmp_path: Path) -> None:
    """`scheduler_loop` on a clock running 600 times faster than real time: six simulated
    minutes in 0.6 s, each minute's tick fired once, after a baseline."""
    folder = _definitions(tmp_path / "definitions", cron="* * * * *")
    async for service in _open(sqlite_url, folder):
        tenants = await _orgs(service, 2)
        clock = _fast_clock(at("2026-01-12 07:59:50"), speed=600)
        stop_event = asyncio.Event()
        loop = asyncio.create_task(scheduler_loop(service, stop_event, clock, max_wait=0.02))
        await asyncio.sleep(0.6)
        stop_event.set()
        await asyncio.wait_for(loop, 5)
        ticks = await _ticks(service)
        assert ticks[0] == at("2026-01-12 07:59")  # the baseline
        minutes = [at("2026-01-12 07:59") + dt.timedelta(minutes=i) for i in range(len(ticks))]
        assert ticks == minutes and len(ticks) >= 4
        events = await _events(service)
        per_tick = sorted((_payload(e)["tick"], e["tenant_id"]) for e in events)
        fired = [t.isoformat().replace("+00:00", "Z") for t in ticks[1:]]
        assert per_tick == sorted((t, tenant) for t in fired for tenant in tenants)


def _fast_clock(start: dt.datetime, speed: float) -> Callable[[], dt.datetime]:
    origin = time.monotonic()
    return lambda: start + dt.timedelta(seconds=(time.monotonic() - origin) * speed)


# -- the workers' hooks: real processes -------------------------------------------------------


async def _baseline(service: RecordService, tick: dt.datetime) -> None:
    """A tick recorded an hour ago, as if the workers had been down since."""
    ticks = service.registry.schedule_tick
    await ticks.insert(ticks(id=uuid.uuid4(), workflow=NAME, tick=tick)).run()


async def _wait_for_ticks(service: RecordService, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while len(await _ticks(service)) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.5)


async def test_plinth_serve_without_redis_fires_a_missed_tick(
    sqlite_url: str, tmp_path: Path
) -> None:
    folder = _definitions(tmp_path / "definitions", cron="* * * * *")
    async for service in _open(sqlite_url, folder):
        tenants = await _orgs(service, 2)
        await _baseline(service, latest_tick("* * * * *", "UTC", dt.datetime.now(UTC)) - _HOUR)
        env = plinth_env(sqlite_url, tmp_path, PLINTH_DEFINITIONS=str(folder))
        _url, server = start_server(env, tmp_path)
        try:
            await _wait_for_ticks(service, 2, timeout=20)
            deadline = time.monotonic() + 20
            while len(await _notes(service)) < 2 and time.monotonic() < deadline:
                await asyncio.sleep(0.3)
        finally:
            stop(server)
        await _drain(service)  # a minute may have turned meanwhile: its tick's events too
        ticks = await _ticks(service)
        assert len(ticks) >= 2, "the missed tick did not fire"
        assert ticks[1] - ticks[0] >= _HOUR  # one tick for the missed hour, not sixty
        notes = await _notes(service)
        fired = len(ticks) - 1
        assert sorted(n["tenant_id"] for n in notes) == sorted(tenants * fired)


_HOUR = dt.timedelta(hours=1)


def _worker(env: dict[str, str], workdir: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "runtime.cli", "worker"],
        env=env,
        cwd=workdir,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )


@pytest.mark.slow
@pytest.mark.redis
@pytest.mark.postgres
async def test_two_workers_fire_each_minute_once(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    """The acceptance test, on the real clock (up to ~2.5 minutes): two `plinth worker`
    processes, a schedule every minute. The first tick is only noted (a first sight); the
    next two fire, each once: one run and one note per organization."""
    folder = _definitions(tmp_path / "definitions", cron="* * * * *")
    async for service in _open(postgres_url, folder):
        tenants = await _orgs(service, 2)
        env = plinth_env(
            postgres_url, tmp_path, PLINTH_DEFINITIONS=str(folder), PLINTH_REDIS_URL=redis_url
        )
        while not 3 <= dt.datetime.now(UTC).second <= 45:  # first sights a minute apart race
            await asyncio.sleep(0.5)
        logs = [tmp_path / f"worker-{i}.log" for i in (1, 2)]
        workers = [_worker(env, tmp_path, log) for log in logs]
        try:
            await _wait_for_ticks(service, 3, timeout=150)
            await _wait_for_notes(service, 2 * len(tenants), timeout=20)
            await asyncio.sleep(2)  # room for a double run to show
            for worker, log in zip(workers, logs, strict=True):
                assert worker.poll() is None, log.read_text()
        finally:
            for worker in workers:
                stop(worker)
        await _assert_each_tick_ran_once(service, tenants)


async def _wait_for_notes(service: RecordService, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while len(await _notes(service)) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.3)


async def _assert_each_tick_ran_once(service: RecordService, tenants: list[uuid.UUID]) -> None:
    ticks = await _ticks(service)
    assert len(ticks) >= 3, ticks
    assert all(b - a == dt.timedelta(minutes=1) for a, b in itertools.pairwise(ticks))
    fired = [t.isoformat().replace("+00:00", "Z") for t in ticks[1:3]]
    events = [e for e in await _events(service) if _payload(e)["tick"] in fired]
    assert sorted((_payload(e)["tick"], e["tenant_id"]) for e in events) == sorted(
        (t, tenant) for t in fired for tenant in tenants
    )
    assert not [e for e in await _events(service) if _payload(e)["tick"] == _iso(ticks[0])]
    runs = service.registry.workflow_run
    ran = await runs.select(runs.event_id, runs.status).where(runs.workflow == NAME).run()
    by_event = {r["event_id"]: r["status"] for r in ran}
    assert len(ran) == len(by_event)  # one run per event
    assert all(by_event[e["id"]] == "succeeded" for e in events)
    bodies = sorted(
        (n["body"], n["tenant_id"])
        for n in await _notes(service)
        if any(t in n["body"] for t in fired)
    )
    assert bodies == sorted(
        (f"Morning review of open tickets ({t})", tenant) for t in fired for tenant in tenants
    )


def _iso(tick: dt.datetime) -> str:
    return tick.isoformat().replace("+00:00", "Z")
