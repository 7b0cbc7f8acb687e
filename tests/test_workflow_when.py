"""Workflow `when` and templates with their whole context (issue 11): variables on either side
(`$changed`, `$old.<path>`, `$user.roles`), paths through references (`contact.name`), and
templates reading a referenced record (`{{ record.contact.email }}`) — each workflow runs
exactly when it should, and never fails, on SQLite and PostgreSQL, in-process and on SAQ."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest

from tests.conftest import Site, add_tenants, prepare_site, start_server, stop

FILES = {
    "contact.yaml": """\
        entity: Contact
        fields:
          name:  {type: string, required: true}
          email: {type: email}
    """,
    "ticket.yaml": """\
        entity: Ticket
        fields:
          subject:  {type: string, required: true}
          priority: {type: integer, default: 1}
          contact:  {type: reference, to: Contact}
          notify:   {type: email}
          handover: {type: text}
    """,
    "note.yaml": """\
        entity: Note
        fields:
          ticket: {type: reference, to: Ticket, required: true}
          body:   {type: text}
          author: {type: email}
    """,
    # priority went up: the SPEC's variables on the left and on the right
    "escalated.yaml": """\
        workflow: escalated
        on: {event: updated, entity: Ticket}
        when: {and: [{$changed: {contains: priority}}, {priority: {gt: $old.priority}}]}
        do:
          - create:
              entity: Note
              values:
                ticket: $record.id
                body: "up from {{ old.priority }} to {{ record.priority }}"
                author: $user.email
    """,
    # a path through a reference, and a template reading the referenced record
    "alice.yaml": """\
        workflow: alice
        on: {event: created, entity: Ticket}
        when: {contact.name: Alice}
        do:
          - update: {notify: "{{ record.contact.email }}"}
    """,
    # the old record's references, and who made the change
    "handover.yaml": """\
        workflow: handover
        on: {event: updated, entity: Ticket}
        when:
          $old.contact.name: Alice
          contact.name: {ne: Alice}
          $user.roles: {contains: owner}
        do:
          - update: {handover: "{{ old.contact.email }} to {{ record.contact.email }}"}
    """,
}


def _definitions(root: Path) -> Path:
    folder = root / "definitions"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in FILES.items():
        (folder / name).write_text(dedent(text))
    return folder


def _query(database_url: str, sql: str) -> list[tuple]:
    if database_url.startswith("sqlite"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///"), timeout=10) as conn:
            return conn.execute(sql).fetchall()

    async def run() -> list[tuple]:
        import asyncpg

        conn = await asyncpg.connect(database_url, timeout=5)
        try:
            return [tuple(row) for row in await conn.fetch(sql)]
        finally:
            await conn.close()

    return asyncio.run(run())


def _settle(database_url: str, timeout: float = 20) -> dict[tuple[str, str], int]:
    """Wait until every outbox event is done; then {(workflow, status): runs}. A failed run
    leaves its event waiting: the wait ends at `timeout` and the runs tell why."""
    deadline = time.monotonic() + timeout
    while _query(database_url, "SELECT id FROM plinth_outbox WHERE dispatched_at IS NULL"):
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)
    rows = _query(database_url, "SELECT workflow, status, last_error FROM plinth_workflow_run")
    errors = [row for row in rows if row[1] not in ("succeeded", "skipped")]
    assert not errors, errors
    counts: dict[tuple[str, str], int] = {}
    for workflow, status, _ in rows:
        counts[workflow, status] = counts.get((workflow, status), 0) + 1
    return counts


def _scenario(site: Site, database_url: str) -> None:
    with site.client(site.a) as api:

        def post(slug: str, values: dict[str, Any]) -> dict[str, Any]:
            response = api.post(f"/api/{slug}", json=values)
            assert response.status_code == 201, response.text
            return response.json()

        def patch(ticket: dict[str, Any], values: dict[str, Any]) -> None:
            response = api.patch(f"/api/tickets/{ticket['id']}", json=values)
            assert response.status_code == 200, response.text

        def get(ticket: dict[str, Any]) -> dict[str, Any]:
            return api.get(f"/api/tickets/{ticket['id']}").json()

        def notes() -> list[tuple[str, str, str]]:
            rows = api.get("/api/notes").json()["data"]
            return sorted((n["ticket"], n["body"], n["author"]) for n in rows)

        alice = post("contacts", {"name": "Alice", "email": "alice@example.com"})
        bob = post("contacts", {"name": "Bob", "email": "bob@example.com"})
        first = post("tickets", {"subject": "one", "priority": 2, "contact": alice["id"]})
        second = post("tickets", {"subject": "two", "priority": 2, "contact": bob["id"]})
        loose = post("tickets", {"subject": "three"})
        runs = _settle(database_url)
        assert runs[("alice", "succeeded")] == 1 and runs[("alice", "skipped")] == 2
        assert get(first)["notify"] == "alice@example.com"
        assert get(second)["notify"] is None and get(loose)["notify"] is None

        patch(first, {"priority": 4})  # up: a note
        patch(second, {"subject": "two, again"})  # priority unchanged
        patch(second, {"priority": 1})  # down
        patch(loose, {"priority": 3})  # up from the default: a note
        _settle(database_url)
        assert notes() == sorted(
            [(first["id"], "up from 2 to 4", site.a), (loose["id"], "up from 1 to 3", site.a)]
        )
        assert get(first)["handover"] is None  # Alice is still the contact

        patch(first, {"contact": bob["id"]})
        patch(second, {"contact": alice["id"]})  # the old contact is Bob: no handover
        runs = _settle(database_url)
        assert get(first)["handover"] == "alice@example.com to bob@example.com"
        assert get(second)["handover"] is None
        assert len(notes()) == 2
        assert runs[("escalated", "succeeded")] == 2 and runs[("handover", "succeeded")] == 1


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue(f"{request.param}_url")


def test_in_process(database: str, tmp_path: Path) -> None:
    env = prepare_site(database, tmp_path, PLINTH_DEFINITIONS=str(_definitions(tmp_path)))
    url, server = start_server(env, tmp_path)
    try:
        _scenario(add_tenants(database, Site(url=url, env=env, workdir=tmp_path)), database)
    finally:
        stop(server)


@pytest.mark.redis
def test_on_saq(database: str, redis_url: str, tmp_path: Path) -> None:
    env = prepare_site(
        database,
        tmp_path,
        PLINTH_DEFINITIONS=str(_definitions(tmp_path)),
        PLINTH_REDIS_URL=redis_url,
    )
    url, server = start_server(env, tmp_path)
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115 - closed with the process
    worker = subprocess.Popen(
        [sys.executable, "-m", "runtime.cli", "worker"],
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _scenario(add_tenants(database, Site(url=url, env=env, workdir=tmp_path)), database)
        assert worker.poll() is None, (tmp_path / "worker.log").read_text()
    finally:
        stop(worker)
        stop(server)
