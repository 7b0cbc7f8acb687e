"""The guide's `escalate` action over HTTP: POST /api/tickets/{id}/actions/escalate records a
pending run that the in-process worker of `plinth serve` runs (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runtime.access import Principal
from runtime.database import close_engine, engine_from_url, open_engine
from runtime.definitions import load_project
from runtime.schema import build_registry
from runtime.service import RecordService
from runtime.workflows.conditions import when_holds
from runtime.workflows.outbox_claims import claim_events
from runtime.workflows.workers import outbound_of, process
from tests.conftest import prepare_site
from tests.workflows.manual_site import ManualSite, serve, write_definitions

PROBLEM = "application/problem+json"


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ManualSite]:
    yield from serve(request.param, tmp_path_factory.mktemp("manual"))


def test_an_agent_escalates_a_ticket_and_the_worker_runs_it(site: ManualSite) -> None:
    ticket = site.ticket("agent", priority=2)
    with site.client("agent") as client:
        response = client.post(f"/api/tickets/{ticket['id']}/actions/escalate")
    assert response.status_code == 202, response.text
    run = response.json()
    assert run["status"] == "pending" and run["workflow"] == "escalate"
    assert (run["entity"], run["record_id"], run["attempts"]) == ("Ticket", ticket["id"], 0)
    assert run["created_at"] and run["steps"] == []
    assert response.headers["location"] == f"/api/workflow-runs/{run['id']}"

    done = site.wait_for_run("agent", run["id"])
    assert done["status"] == "succeeded", done
    assert [step["action"] for step in done["steps"]] == ["update"]
    with site.client("agent") as client:
        now = client.get(f"/api/tickets/{ticket['id']}").json()
        timeline = client.get(f"/api/tickets/{ticket['id']}/timeline").json()["data"]
        mine = {"record": ticket["id"], "workflow": "escalate"}
        listed = client.get("/api/workflow-runs", params=mine).json()
    assert (now["escalated"], now["priority"], now["version"]) == (True, 5, 2)
    assert timeline[0]["actor"] == "workflow:escalate"
    assert timeline[0]["changes"]["priority"] == {"old": 2, "new": 5}
    assert [(r["id"], r["status"]) for r in listed["data"]] == [(run["id"], "succeeded")]


def test_when_must_match_the_record_as_it_is_now(site: ManualSite) -> None:
    ticket = site.ticket("agent", escalated=True)
    with site.client("agent") as client:
        response = client.post(f"/api/tickets/{ticket['id']}/actions/escalate")
        mine = {"record": ticket["id"], "workflow": "escalate"}
        runs = client.get("/api/workflow-runs", params=mine).json()
    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM
    assert "'when' does not match" in response.json()["detail"]
    assert runs["data"] == []  # nothing was recorded


def test_a_role_without_the_action_is_forbidden(site: ManualSite) -> None:
    ticket = site.ticket("agent")
    with site.client("reader") as client:
        assert client.get(f"/api/tickets/{ticket['id']}").status_code == 200  # may read it
        response = client.post(f"/api/tickets/{ticket['id']}/actions/escalate")
    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM
    assert "escalate" in response.json()["detail"]
    with site.client("agent") as client:
        assert client.get(f"/api/tickets/{ticket['id']}").json()["version"] == 1


def test_another_organizations_record_is_not_found_and_nothing_leaks(site: ManualSite) -> None:
    theirs = site.ticket("agent_b", subject="globex secret")
    with site.client("agent") as client:
        response = client.post(f"/api/tickets/{theirs['id']}/actions/escalate")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert "globex secret" not in response.text
    with site.client("owner_b") as client:
        mine = {"record": theirs["id"], "workflow": "escalate"}
        runs = client.get("/api/workflow-runs", params=mine).json()
    assert runs["data"] == []  # nor was anything started on it


def test_a_record_outside_the_row_rule_is_not_found(site: ManualSite) -> None:
    high = site.ticket("agent", priority=3)
    low = site.ticket("agent", priority=1)
    with site.client("lows") as client:
        hidden = client.post(f"/api/tickets/{high['id']}/actions/escalate")
        allowed = client.post(f"/api/tickets/{low['id']}/actions/escalate")
    assert hidden.status_code == 404
    assert allowed.status_code == 202, allowed.text


@pytest.mark.parametrize(
    ("slug", "workflow"),
    [
        ("tickets", "no_such_workflow"),
        ("tickets", "tag_new"),  # a workflow, but triggered by `created`
        ("tickets", "pin_note"),  # a manual workflow, on Note
    ],
)
def test_only_a_manual_workflow_of_the_entity_is_an_action(
    site: ManualSite, slug: str, workflow: str
) -> None:
    ticket = site.ticket("owner")
    with site.client("owner") as client:
        response = client.post(f"/api/{slug}/{ticket['id']}/actions/{workflow}")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert workflow in response.json()["detail"]


def test_an_unknown_record_id_is_not_found(site: ManualSite) -> None:
    with site.client("agent") as client:
        for record_id in ("not-a-uuid", "00000000-0000-0000-0000-000000000000"):
            response = client.post(f"/api/tickets/{record_id}/actions/escalate")
            assert response.status_code == 404, record_id


async def _drain(service: RecordService) -> None:
    """What a worker does: claim the outbox's events and run them."""
    outbound = outbound_of(service)
    while claimed := await claim_events(service.registry):
        for event, claim in claimed:
            await process(service, event, claim, outbound)


async def test_the_worker_checks_when_again_on_the_record_as_it_is_then(
    database_url: str, tmp_path: Path
) -> None:
    """Asked for while `when` matched, the run starts after the record changed (escalated by
    hand) or went away: it is skipped, and the run recorded by the request is the one used."""
    definitions = write_definitions(tmp_path / "definitions")
    prepare_site(database_url, tmp_path, PLINTH_DEFINITIONS=str(definitions))
    engine = engine_from_url(database_url)
    registry = build_registry(load_project(definitions), engine)
    await open_engine(engine)
    try:
        org = registry.organization
        slug = f"org-{uuid.uuid4().hex[:6]}"
        tenant = (await org.insert(org(slug=slug, name=slug)).returning(org.id).run())[0]["id"]
        agent = Principal(tenant_id=tenant, actor="agent", roles=frozenset({"agent"}))
        owner = Principal(tenant_id=tenant, actor="owner", roles=frozenset({"owner"}))
        service = RecordService(registry)

        async def holds(event: dict[str, Any], payload: dict[str, Any]) -> bool:
            return await when_holds(service, service.project.workflows["escalate"], event, payload)

        changed = await service.create(agent, "Ticket", {"subject": "changed"})
        gone = await service.create(agent, "Ticket", {"subject": "gone"})
        runs = [
            await service.start_action(agent, "Ticket", t["id"], "escalate", holds=holds)
            for t in (changed, gone)
        ]
        await service.update(agent, "Ticket", changed["id"], {"escalated": True})
        await service.delete(owner, "Ticket", gone["id"])
        await _drain(service)

        table = registry.workflow_run
        after = await table.select().where(table.workflow == "escalate").run()
        by_id = {row["id"]: row for row in after}
        assert sorted(by_id) == sorted(run["id"] for run in runs)  # reused, not made again
        first, second = (by_id[run["id"]] for run in runs)
        assert (first["status"], first["last_error"]) == ("skipped", "'when' did not match")
        assert second["status"] == "skipped" and "was deleted" in second["last_error"]
        now = await service.get(agent, "Ticket", changed["id"])
        assert (now["priority"], now["version"]) == (3, 2)  # only the hand's change
    finally:
        await close_engine(engine)
