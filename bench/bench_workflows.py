"""Workflow latency and throughput on PostgreSQL + Redis, beside the service's update rate.

    uv run python bench/bench_workflows.py [--samples 200] [--runs 2000] [--concurrency 16]
                                          [--workers 1]

Creates a scratch database and a Redis queue of its own, migrates a Ticket entity with one
`update` workflow (on created: set `stamped`), then in one run:

1. the service's own update rate: `--runs` RecordService.update calls at `--concurrency`, on
   an entity no workflow watches (the baseline);
2. throughput: `--runs` tickets created at `--concurrency` while no worker runs, then
   `--workers` `plinth worker` processes started; runs per second from the first workflow
   update to the last, as a ratio to (1);
3. latency, with the workers running: `--samples` tickets created one at a time; for each,
   the time from the creating change (its timeline entry) to the workflow's update (the
   workflow's timeline entry) — commit → first action, through NOTIFY, the relay, Redis and a
   SAQ job — as p50 and p99.

Goals (issue 13): p50 < 20 ms, p99 < 100 ms, runs/s >= 0.5x the update rate.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from textwrap import dedent

import asyncpg
import uvloop
from bench_service import _pooled  # the same rate measure as the service benchmark

REPO = Path(__file__).resolve().parent.parent
ADMIN_DSN = os.environ.get("PLINTH_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("PLINTH_TEST_REDIS", "redis://127.0.0.1:6379/0")
DEFINITIONS = {
    "entities/ticket.yaml": """\
        entity: Ticket
        fields:
          subject: {type: string, required: true}
          stamped: {type: boolean, default: false}
    """,
    "entities/counter.yaml": """\
        entity: Counter
        fields:
          value: {type: integer, default: 0}
    """,
    "workflows/stamp.yaml": """\
        workflow: stamp
        on: {event: created, entity: Ticket}
        do:
          - update: {stamped: true}
    """,
}


def _env(url: str, workdir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PLINTH_DATABASE_URL": url,
        "PLINTH_REDIS_URL": REDIS_URL,
        "PLINTH_SECRET_KEY": "bench-secret-key-at-least-32-characters",
        "PLINTH_DEFINITIONS": str(workdir / "definitions"),
        "PLINTH_MIGRATIONS": str(workdir / "migrations"),
    }


def _prepare(workdir: Path, env: dict[str, str]) -> None:
    for name, text in DEFINITIONS.items():
        path = workdir / "definitions" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text))
    subprocess.run(
        [sys.executable, "-m", "runtime.cli", "migrate"],
        env=env,
        cwd=workdir,
        check=True,
        capture_output=True,
    )


async def _workflow_entries(timeline, ids: list[str]) -> dict[str, float]:
    """Record id → when the workflow's update was written (epoch seconds)."""
    rows = await (
        timeline.select(timeline.record_id, timeline.at)
        .where(timeline.actor == "workflow:stamp", timeline.record_id.is_in(ids))
        .run()
    )
    return {str(row["record_id"]): row["at"].timestamp() for row in rows}


async def _wait_for(timeline, ids: list[str], timeout: float = 600) -> dict[str, float]:
    deadline = time.monotonic() + timeout
    while True:
        seen: dict[str, float] = {}
        for start in range(0, len(ids), 500):
            seen |= await _workflow_entries(timeline, ids[start : start + 500])
        if len(seen) == len(ids) or time.monotonic() > deadline:
            return seen
        await asyncio.sleep(0.2)


async def bench(url: str, workdir: Path, env: dict[str, str], args: argparse.Namespace) -> None:
    from runtime.access import Principal
    from runtime.database import close_engine, engine_from_url, open_engine
    from runtime.definitions import load_project
    from runtime.schema import build_registry
    from runtime.service import RecordService

    engine = engine_from_url(url)
    registry = build_registry(load_project(workdir / "definitions"), engine)
    await open_engine(engine)
    org = registry.organization
    tenant = (await org.insert(org(slug="bench", name="bench")).returning(org.id).run())[0]["id"]
    owner = Principal(tenant_id=tenant, actor="bench", roles=frozenset({"owner"}))
    service = RecordService(registry)
    timeline, outbox = registry.timeline, registry.outbox

    counters = [(await service.create(owner, "Counter", {}))["id"] for _ in range(64)]

    async def update(i: int) -> None:
        await service.update(owner, "Counter", counters[i % 64], {"value": i})

    await _pooled(args.concurrency, 200, update)  # warm up
    update_rate = await _pooled(args.concurrency, args.runs, update)
    await outbox.update({outbox.dispatched_at: outbox.created_at}, force=True).run()  # not ours

    ids: list[str] = []

    async def create(i: int) -> None:
        ids.append((await service.create(owner, "Ticket", {"subject": f"run {i}"}))["id"])

    await _pooled(args.concurrency, args.runs, create)  # the backlog, before any worker runs

    log = open(workdir / "worker.log", "w")  # noqa: SIM115
    prefix = os.environ.get("BENCH_WORKER_PREFIX", "").split()  # e.g. a profiler
    workers = [
        subprocess.Popen(
            [*prefix, sys.executable, "-m", "runtime.cli", "worker"],
            env=env,
            cwd=workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        for _ in range(args.workers)
    ]
    try:
        finished = await _wait_for(timeline, ids)
        if len(finished) < len(ids):
            print(f"only {len(finished)} of {len(ids)} runs finished")
        span = max(finished.values()) - min(finished.values())
        run_rate = len(finished) / span if span else float("inf")

        latencies: list[float] = []
        for i in range(args.samples):
            ticket = await service.create(owner, "Ticket", {"subject": f"latency {i}"})
            created = (
                await timeline.select(timeline.at)
                .where(timeline.record_id == ticket["id"], timeline.event == "created")
                .first()
                .run()
            )
            done = await _wait_for(timeline, [ticket["id"]], timeout=30)
            latencies.append((done[ticket["id"]] - created["at"].timestamp()) * 1000)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGINT)  # a profiler in BENCH_WORKER_PREFIX then writes
        for worker in workers:
            worker.wait(timeout=30)
        await close_engine(engine)

    latencies.sort()
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"service update rate (baseline): {update_rate:.0f} updates/s")
    print(f"commit -> first action: p50 {p50:.1f} ms, p99 {p99:.1f} ms  (goals: < 20, < 100)")
    print("  slowest: " + ", ".join(f"{x:.0f}" for x in latencies[-8:]) + " ms")
    print(
        f"update workflow runs: {run_rate:.0f} runs/s = {run_rate / update_rate:.2f}x the "
        "update rate (goal >= 0.5x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1, help="`plinth worker` processes")
    args = parser.parse_args()
    name = f"plinth_bench_{uuid.uuid4().hex[:8]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(ADMIN_DSN)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    url = f"{ADMIN_DSN.rsplit('/', 1)[0]}/{name}"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            env = _env(url, workdir)
            _prepare(workdir, env)
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:  # as plinth runs
                runner.run(bench(url, workdir, env, args))
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
