"""GET /api/workflow-runs and /api/workflow-runs/{id}: the runs of the caller's organization,
newest first, filtered, paged, and only those the caller may see (a run on an entity their
roles may read; with `record=`, a record they may read; a run on no entity: owners only)."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate

from runtime.api.openapi import openapi_document
from runtime.database import close_engine, engine_from_url, open_engine
from runtime.definitions import load_project
from runtime.schema import build_registry
from tests.workflows.manual_site import ManualSite, serve, write_definitions

PROBLEM = "application/problem+json"


@dataclass
class World:
    site: ManualSite
    low: dict[str, Any]  # a priority 1 ticket, escalated (run succeeded)
    high: dict[str, Any]  # a priority 3 ticket, tagged by `tag_new` (run succeeded)
    quiet: dict[str, Any]  # a priority 1 ticket, left as it is (`tag_new` skipped)
    note: dict[str, Any]  # pinned (run succeeded)
    schedule_run: str  # a run on no entity (a schedule's)
    b_run: str  # a run of the other organization


def _runs(site: ManualSite, who: str, **params: Any) -> list[dict[str, Any]]:
    with site.client(who) as client:
        response = client.get("/api/workflow-runs", params=params)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def _wait_until_finished(site: ManualSite, count: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while True:
        runs = _runs(site, "owner", limit=500)
        if len(runs) >= count and all(r["status"] in ("succeeded", "skipped") for r in runs):
            return
        assert time.monotonic() < deadline, runs
        time.sleep(0.2)


def _schedule_run(database_url: str, definitions: Path, tenant_of: str) -> str:
    """A run on no entity, as a schedule's tick leaves it, in the organization of the
    ticket `tenant_of` (no schedule workflow is needed to read one back)."""

    async def insert() -> str:
        engine = engine_from_url(database_url)
        registry = build_registry(load_project(definitions), engine)
        await open_engine(engine)
        try:
            tickets = registry.table(registry.project.entities["Ticket"])
            row = await tickets.select(tickets.tenant_id).where(tickets.id == tenant_of).first()
            runs, now = registry.workflow_run, dt.datetime.now(dt.UTC)
            run_id = uuid.uuid4()
            values = {"event_id": uuid.uuid4(), "workflow": "digest", "entity": None}
            values |= {"tenant_id": row["tenant_id"], "status": "succeeded", "record_id": None}
            await runs.insert(runs(id=run_id, created_at=now, updated_at=now, **values)).run()
            return str(run_id)
        finally:
            await close_engine(engine)

    return asyncio.run(insert())


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    workdir = tmp_path_factory.mktemp("runs")
    for site in serve(request.param, workdir):
        low = site.ticket("agent", priority=1)
        high = site.ticket("agent", subject="tag me")  # tag_new: priority 3 → 4
        quiet = site.ticket("agent", priority=1)
        _wait_until_finished(site, 3)  # so that the runs below are newer
        with site.client("agent") as client:
            started = client.post(f"/api/tickets/{low['id']}/actions/escalate")
            assert started.status_code == 202, started.text
        with site.client("owner") as client:
            note = client.post("/api/notes", json={"ticket": low["id"], "body": "x"}).json()
            assert client.post(f"/api/notes/{note['id']}/actions/pin_note").status_code == 202
        theirs = site.ticket("agent_b")
        with site.client("agent_b") as client:
            b_run = client.post(f"/api/tickets/{theirs['id']}/actions/escalate").json()["id"]
        _wait_until_finished(site, 5)  # tag_new (3), escalate, pin_note
        scheduled = _schedule_run(site.database_url, site.definitions, low["id"])
        yield World(site, low, high, quiet, note, scheduled, b_run)


def test_runs_are_listed_newest_first_with_their_fields(world: World) -> None:
    runs = _runs(world.site, "owner")
    assert [r["workflow"] for r in runs] == [
        "digest", "pin_note", "escalate", "tag_new", "tag_new", "tag_new",
    ]  # fmt: skip
    assert [r["created_at"] for r in runs] == sorted((r["created_at"] for r in runs), reverse=True)
    escalate = runs[2]
    assert set(escalate) == {
        "id", "workflow", "status", "attempts", "entity", "record_id", "last_error", "steps",
        "next_attempt_at", "created_at", "updated_at",
    }  # fmt: skip
    assert (escalate["status"], escalate["attempts"], escalate["entity"]) == (
        "succeeded", 1, "Ticket",
    )  # fmt: skip
    assert escalate["record_id"] == world.low["id"] and escalate["steps"][0]["action"] == "update"
    with world.site.client("owner") as client:
        one = client.get(f"/api/workflow-runs/{escalate['id']}")
    assert one.status_code == 200 and one.json() == escalate


def test_filters_by_status_workflow_and_record(world: World) -> None:
    site = world.site
    skipped = _runs(site, "owner", status="skipped")
    assert [(r["workflow"], r["record_id"]) for r in skipped] == [
        ("tag_new", world.quiet["id"]), ("tag_new", world.low["id"]),
    ]  # fmt: skip
    assert {r["workflow"] for r in _runs(site, "owner", status="succeeded")} == {
        "digest", "pin_note", "escalate", "tag_new",
    }  # fmt: skip
    tagged = _runs(site, "owner", workflow="tag_new", status="succeeded")
    assert [r["record_id"] for r in tagged] == [world.high["id"]]
    on_low = _runs(site, "owner", record=world.low["id"])
    assert sorted(r["workflow"] for r in on_low) == ["escalate", "tag_new"]
    assert _runs(site, "owner", workflow="no_such") == []
    assert _runs(site, "owner", status="dead") == []


def test_pages_follow_the_cursor(world: World) -> None:
    site, seen = world.site, []
    params: dict[str, Any] = {"limit": 2}
    with site.client("owner") as client:
        while True:
            body = client.get("/api/workflow-runs", params=params).json()
            seen += [r["id"] for r in body["data"]]
            if body["meta"]["next_cursor"] is None:
                break
            params["cursor"] = body["meta"]["next_cursor"]
    assert seen == [r["id"] for r in _runs(site, "owner")] and len(seen) == 6


def test_another_organizations_runs_are_never_seen(world: World) -> None:
    site = world.site
    mine = {r["id"] for r in _runs(site, "owner")}
    theirs = {r["id"] for r in _runs(site, "owner_b")}
    assert world.b_run in theirs and not theirs & mine
    with site.client("owner") as client:
        assert client.get(f"/api/workflow-runs/{world.b_run}").status_code == 404
        response = client.get("/api/workflow-runs", params={"record": world.low["id"]})
    with site.client("owner_b") as client:
        across = client.get("/api/workflow-runs", params={"record": world.low["id"]})
        one = client.get(f"/api/workflow-runs/{_runs(site, 'owner')[1]['id']}")
    assert response.status_code == 200
    assert across.status_code == 404 and across.headers["content-type"] == PROBLEM
    assert one.status_code == 404


def test_a_caller_sees_runs_on_the_entities_their_roles_may_read(world: World) -> None:
    site = world.site
    assert [r["workflow"] for r in _runs(site, "noter")] == ["pin_note"]  # notes only
    assert [r["workflow"] for r in _runs(site, "reader")] == [
        "pin_note", "escalate", "tag_new", "tag_new", "tag_new",
    ]  # fmt: skip  # not the schedule's run
    with site.client("reader") as client:
        hidden = client.get(f"/api/workflow-runs/{world.schedule_run}")
    with site.client("owner") as client:
        shown = client.get(f"/api/workflow-runs/{world.schedule_run}")
    assert hidden.status_code == 404
    assert shown.status_code == 200 and shown.json()["entity"] is None
    with site.client("noter") as client:
        ticket_run = _runs(site, "owner", workflow="escalate")[0]["id"]
        assert client.get(f"/api/workflow-runs/{ticket_run}").status_code == 404


def test_record_filter_needs_a_record_the_caller_may_read(world: World) -> None:
    site = world.site
    with site.client("lows") as client:  # reads tickets of priority 1 only
        allowed = client.get("/api/workflow-runs", params={"record": world.quiet["id"]})
        hidden = client.get("/api/workflow-runs", params={"record": world.high["id"]})
        unknown = client.get("/api/workflow-runs", params={"record": str(uuid.uuid4())})
    assert allowed.status_code == 200
    assert [r["workflow"] for r in allowed.json()["data"]] == ["tag_new"]
    assert hidden.status_code == 404 and hidden.headers["content-type"] == PROBLEM
    assert unknown.status_code == 404
    # at entity level lows sees the runs on the ticket it cannot read (the rule above)
    assert world.high["id"] in {r["record_id"] for r in _runs(site, "lows")}


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"status": "bogus"}, "status"),
        ({"record": "not-a-uuid"}, "record"),
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"cursor": "%%%"}, "cursor"),
    ],
)
def test_bad_parameters_are_problems_naming_them(
    world: World, params: dict[str, str], named: str
) -> None:
    with world.site.client("owner") as client:
        response = client.get("/api/workflow-runs", params=params)
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["detail"].startswith(f"{named}:")


def test_runs_need_a_caller_and_a_run_id(world: World) -> None:
    import httpx

    assert httpx.get(f"{world.site.url}/api/workflow-runs").status_code == 401
    with world.site.client("owner") as client:
        assert client.get("/api/workflow-runs/not-a-uuid").status_code == 404
        assert client.get(f"/api/workflow-runs/{uuid.uuid4()}").status_code == 404


def test_the_openapi_document_has_the_action_and_the_runs(tmp_path: Path) -> None:
    document = openapi_document(load_project(write_definitions(tmp_path / "definitions")))
    validate(document)
    action = document["paths"]["/api/tickets/{id}/actions/{workflow}"]
    assert action["parameters"][1]["schema"] == {"enum": ["escalate"]}
    assert {"202", "403", "404", "409"} <= set(action["post"]["responses"])
    assert "/api/notes/{id}/actions/{workflow}" in document["paths"]
    assert "get" in document["paths"]["/api/workflow-runs"]
    assert "get" in document["paths"]["/api/workflow-runs/{id}"]
