"""The triage workflow: a priority ≥ 4 ticket is opened by the worker, through the service."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import Site, add_tenants, prepare_site, start_server, stop


def _wait_for_status(site: Site, ticket_id: str, status: str, timeout: float = 10) -> dict:
    deadline = time.monotonic() + timeout
    with site.client(site.a) as client:
        while True:
            ticket = client.get(f"/api/tickets/{ticket_id}").json()
            if ticket["status"] == status or time.monotonic() > deadline:
                return ticket
            time.sleep(0.2)


def _assert_triage(site: Site) -> None:
    with site.client(site.a) as client:
        urgent = client.post("/api/tickets", json={"subject": "urgent", "priority": 5}).json()
        calm = client.post("/api/tickets", json={"subject": "calm", "priority": 2}).json()
    assert urgent["status"] == "new"
    opened = _wait_for_status(site, urgent["id"], "open")
    assert opened["status"] == "open" and opened["version"] == 2
    with site.client(site.a) as client:
        timeline = client.get(f"/api/tickets/{urgent['id']}/timeline").json()["data"]
        assert timeline[0]["actor"] == "workflow:triage"
        assert timeline[0]["changes"] == {"status": {"old": "new", "new": "open"}}
        # the calm ticket's event was processed too (the urgent one came first), and left it be
        time.sleep(1.0)
        calm_now = client.get(f"/api/tickets/{calm['id']}").json()
    assert (calm_now["status"], calm_now["version"]) == ("new", 1)


def test_in_process_worker_on_sqlite(sqlite_url: str, tmp_path: Path) -> None:
    env = prepare_site(sqlite_url, tmp_path)
    url, server = start_server(env, tmp_path)
    try:
        _assert_triage(
            add_tenants(env["PLINTH_DATABASE_URL"], Site(url=url, env=env, workdir=tmp_path))
        )
    finally:
        stop(server)


@pytest.mark.redis
@pytest.mark.postgres
def test_saq_worker_on_redis_as_a_separate_process(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    env = prepare_site(postgres_url, tmp_path, PLINTH_REDIS_URL=redis_url)
    url, server = start_server(env, tmp_path)
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115
    worker = subprocess.Popen(
        [sys.executable, "-m", "runtime.cli", "worker"],
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _assert_triage(
            add_tenants(env["PLINTH_DATABASE_URL"], Site(url=url, env=env, workdir=tmp_path))
        )
        assert worker.poll() is None, (tmp_path / "worker.log").read_text()
    finally:
        stop(worker)
        stop(server)


@pytest.mark.redis
@pytest.mark.postgres
def test_without_a_worker_events_wait_in_the_outbox(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    """With Redis configured, `plinth serve` runs no workflows itself: the event waits for a
    worker, and is processed when one starts (nothing is lost)."""
    env = prepare_site(postgres_url, tmp_path, PLINTH_REDIS_URL=redis_url)
    url, server = start_server(env, tmp_path)
    site = add_tenants(postgres_url, Site(url=url, env=env, workdir=tmp_path))
    try:
        with site.client(site.a) as client:
            urgent = client.post("/api/tickets", json={"subject": "wait", "priority": 4}).json()
        time.sleep(1.5)
        assert _wait_for_status(site, urgent["id"], "open", timeout=0)["status"] == "new"
        worker = subprocess.Popen(
            [sys.executable, "-m", "runtime.cli", "worker"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            assert _wait_for_status(site, urgent["id"], "open")["status"] == "open"
        finally:
            stop(worker)
    finally:
        stop(server)
