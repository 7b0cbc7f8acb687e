"""No event lost, none applied twice, under the faults a deployment meets: 2,000 events whose
workflow calls a receiver (which fails or stalls on 10% of calls) and then updates the record,
on PostgreSQL and a Redis of the test's own, while the test kill -9's a `plinth worker` twice
and restarts Redis once. Every event's run succeeds, each record is updated once, and the
receiver sees one idempotency key per event (with a 200 among its requests)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path
from textwrap import dedent

import pytest

from tests.conftest import free_port, plinth_env
from tests.workflows.lab import Lab, lab
from tests.workflows.receiver import Receiver

EVENTS = 2000
TICKET = """\
    entity: Ticket
    fields:
      subject: {type: string, required: true}
      done:    {type: boolean, default: false}
"""
DELIVER = """\
    workflow: deliver
    on: {event: created, entity: Ticket}
    do:
      - http: {method: POST, url: "%s", json: {id: $record.id}, timeout: 500ms}
      - update: {done: true}
    retry: {attempts: 30, backoff: fixed, initial: 200ms, max: 1s}
"""


class OwnRedis:
    """A redis-server on a port of its own, keeping nothing on disk; restartable."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while (
            subprocess.run(
                ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True
            ).stdout.strip()
            != "PONG"
        ):
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()


class Workers:
    """`plinth worker` processes, each killable with SIGKILL and restartable."""

    def __init__(self, env: dict[str, str], workdir: Path, count: int) -> None:
        self.env, self.workdir = env, workdir
        self.logs = [open(workdir / f"worker{n}.log", "ab") for n in range(count)]  # noqa: SIM115
        self.processes = [self._start(n) for n in range(count)]

    def _start(self, number: int) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "runtime.cli", "worker"],
            env=self.env,
            cwd=self.workdir,
            stdout=self.logs[number],
            stderr=subprocess.STDOUT,
        )

    def kill_and_restart(self, number: int) -> None:
        self.processes[number].send_signal(signal.SIGKILL)
        self.processes[number].wait()
        self.processes[number] = self._start(number)

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in self.logs:
            log.close()


async def _succeeded(lab_: Lab) -> int:
    runs = lab_.service.registry.workflow_run
    count: int = await runs.count().where(runs.status == "succeeded").run()
    return count


async def _wait_for_runs(lab_: Lab, at_least: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while (done := await _succeeded(lab_)) < at_least and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    return done


@pytest.mark.long  # minutes: its module starts first (tests/parallel.py)
@pytest.mark.postgres
@pytest.mark.redis
async def test_no_event_is_lost_or_applied_twice_under_faults(
    postgres_url: str, tmp_path: Path
) -> None:
    redis = OwnRedis(tmp_path)
    redis.start()
    with Receiver() as hook:
        hook.flaky, hook.slow = 0.1, 1.0
        folder = tmp_path / "definitions"
        (folder / "workflows").mkdir(parents=True)
        (folder / "ticket.yaml").write_text(dedent(TICKET))
        (folder / "workflows" / "deliver.yaml").write_text(dedent(DELIVER % hook.url("/hook")))
        (folder / "platform.yaml").write_text("http: {allow_hosts: ['127.0.0.1']}\n")
        async with lab(postgres_url, tmp_path, folder) as lab_:
            env = plinth_env(
                postgres_url,
                tmp_path,
                PLINTH_DEFINITIONS=str(folder),
                PLINTH_REDIS_URL=redis.url,
                PLINTH_WORKFLOW_LEASE="3",
            )
            workers = Workers(env, tmp_path, count=2)
            try:
                await _faults_while_creating(lab_, workers, redis)
                done = await _wait_for_runs(lab_, EVENTS, timeout=240)
                assert done == EVENTS, _logs(tmp_path)
                await _assert_applied_once(lab_, hook)
            finally:
                workers.stop()
                redis.kill()


async def _faults_while_creating(lab_: Lab, workers: Workers, redis: OwnRedis) -> None:
    gate = asyncio.Semaphore(8)

    async def create(number: int) -> None:
        async with gate:
            await lab_.service.create(lab_.owner, "Ticket", {"subject": f"t{number}"})

    creating = asyncio.gather(*(create(n) for n in range(EVENTS)))
    assert await _wait_for_runs(lab_, 300, timeout=120) >= 300
    workers.kill_and_restart(0)
    assert await _wait_for_runs(lab_, 800, timeout=120) >= 800
    redis.kill()
    await asyncio.sleep(1.0)  # the workers lose Redis, and every job in it
    redis.start()
    assert await _wait_for_runs(lab_, 1300, timeout=120) >= 1300
    workers.kill_and_restart(1)
    await creating


async def _assert_applied_once(lab_: Lab, hook: Receiver) -> None:
    registry = lab_.service.registry
    ticket, timeline, outbox = registry.table("Ticket"), registry.timeline, registry.outbox
    rows = await ticket.select(ticket.done, ticket.version).run()
    assert len(rows) == EVENTS
    assert {(row["done"], row["version"]) for row in rows} == {(True, 2)}  # updated once each
    by_workflow = await timeline.count().where(timeline.actor == "workflow:deliver").run()
    assert by_workflow == EVENTS
    assert await outbox.count().where(outbox.dispatched_at.is_null()).run() == 0
    created = await outbox.select(outbox.id).where(outbox.event == "created").run()
    keys = hook.by_key()
    assert set(keys) == {f"{row['id']}:deliver.0" for row in created}  # one key per event, no other
    assert all(any(r.status == 200 for r in requests) for requests in keys.values())
    repeated = sum(len(requests) > 1 for requests in keys.values())
    assert repeated > 0  # the faults did happen (10% flaky): some keys were sent again


def _logs(workdir: Path) -> str:
    return "\n".join(
        path.read_text(errors="replace")[-3000:] for path in sorted(workdir.glob("worker*.log"))
    )
