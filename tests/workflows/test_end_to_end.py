"""Every action and trigger of the workflows guide, through the real processes, as an app
uses them: over HTTP as a support agent, with `plinth serve` running the workflows itself on
SQLite, and with `plinth serve` + `plinth worker` on PostgreSQL and Redis.

One ticket exercises them all: creating it runs `urgent_note` (create), `notify_hook` (http to
a local receiver) and `confirm_ticket` (email through a local SMTP server); closing it runs
`stamp_closed` (transition → update); the `escalate` action (manual) runs on request.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import PASSWORD, prepare_site, start_server, stop
from tests.workflows.guide import workflow, write_project
from tests.workflows.receiver import Receiver
from tests.workflows.smtp_server import Keeper, smtp_server

WORKFLOWS = ["urgent_note", "stamp_closed", "notify_hook", "confirm_ticket", "escalate"]


def _definitions(folder: Path, hook_url: str) -> Path:
    write_project(folder, WORKFLOWS, platform={"http": {"allow_hosts": ["127.0.0.1"]}})
    block = workflow("notify_hook")
    block["do"][0]["http"]["url"] = hook_url  # the receiver, not the guide's example host
    (folder / "workflows" / "notify_hook.yaml").write_text(yaml.dump(block, sort_keys=False))
    return folder


def _agent(database_url: str, definitions: Path) -> tuple[str, str]:
    """An organization with one support agent in it: (email, organization slug)."""
    from runtime.database import engine_from_url
    from runtime.definitions import load_project
    from runtime.identity import accounts
    from runtime.schema import build_registry

    suffix = uuid.uuid4().hex[:8]
    email, slug = f"agent-{suffix}@acme.test", f"acme-{suffix}"

    async def create() -> None:
        registry = build_registry(load_project(definitions), engine_from_url(database_url))
        await accounts.create_organization(registry, slug, "Acme")
        await accounts.create_user(registry, email, PASSWORD)
        await accounts.grant_role(registry, email, slug, "agent")

    asyncio.run(create())
    return email, slug


def _eventually(check: Callable[[], Any], timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
    return found


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres])])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_every_action_and_trigger_through_the_real_processes(
    mode: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    database_url = request.getfixturevalue("sqlite_url" if mode == "sqlite" else "postgres_url")
    extra = {} if mode == "sqlite" else {"PLINTH_REDIS_URL": request.getfixturevalue("redis_url")}
    keeper = Keeper()
    with Receiver() as hook, smtp_server(keeper) as smtp_port:
        definitions = _definitions(tmp_path / "definitions", hook.url("/tickets"))
        env = prepare_site(
            database_url,
            tmp_path,
            PLINTH_DEFINITIONS=str(definitions),
            PLINTH_SMTP_URL=f"smtp://127.0.0.1:{smtp_port}",
            PLINTH_EMAIL_FROM="Helpdesk <helpdesk@helpdesk.example>",
            **extra,
        )
        url, server = start_server(env, tmp_path)
        worker = None
        if extra:  # with Redis, `plinth serve` runs no workflows: a worker does
            worker = subprocess.Popen(
                [sys.executable, "-m", "runtime.cli", "worker"],
                env=env,
                cwd=tmp_path,
                stdout=open(tmp_path / "worker.log", "w"),  # noqa: SIM115
                stderr=subprocess.STDOUT,
            )
        try:
            email, _ = _agent(database_url, definitions)
            token = httpx.post(f"{url}/auth/token", json={"email": email, "password": PASSWORD})
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
            with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
                _exercise(client, hook, keeper)
        finally:
            if worker is not None:
                stop(worker)
            stop(server)


def _exercise(client: httpx.Client, hook: Receiver, keeper: Keeper) -> None:
    values = {"subject": "Printer on fire", "priority": 5, "email": "ada@example.com"}
    created = client.post("/api/tickets", json=values)
    assert created.status_code == 201, created.text
    ticket = created.json()

    notes = _eventually(lambda: client.get("/api/notes").json()["data"])  # create
    assert [(n["ticket"], n["body"]) for n in notes] == [(ticket["id"], "Urgent: Printer on fire")]
    [request] = hook.wait_for(1, timeout=20)  # http
    assert request.json()["id"] == ticket["id"] and request.json()["priority"] == 5
    assert request.key and request.key.endswith(":notify_hook.0")
    [message] = _eventually(lambda: keeper.received)  # email
    assert message.rcpt_tos == ["ada@example.com"]
    assert message.message["Subject"] == "We got your ticket: Printer on fire"

    closed = client.post(f"/api/tickets/{ticket['id']}/transitions/close")  # transition
    assert closed.status_code == 200, closed.text
    stamped = _eventually(
        lambda: (t := client.get(f"/api/tickets/{ticket['id']}").json())["closed_at"] and t
    )
    assert stamped["status"] == "closed"

    started = client.post(f"/api/tickets/{ticket['id']}/actions/escalate")  # manual
    assert started.status_code == 202, started.text
    run_id = started.json()["id"]
    run = _eventually(
        lambda: (
            (r := client.get(f"/api/workflow-runs/{run_id}").json())["status"] != "pending"
            and r["status"] != "running"
            and r
        )
    )
    assert run["status"] == "succeeded", run
    assert client.get(f"/api/tickets/{ticket['id']}").json()["escalated"] is True

    runs = client.get("/api/workflow-runs", params={"record": ticket["id"]}).json()["data"]
    assert {(r["workflow"], r["status"]) for r in runs} == {
        (name, "succeeded") for name in WORKFLOWS
    }
