"""Field-level access: a hidden field and a field outside a role's read set never leave the
server (API list, get, expand, timeline, /auth/me, the admin's list and detail), cannot be
probed through filters or ordering, and a write outside the write set answers 403 naming the
field."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing

import pytest

from tests.admin_session import admin_client
from tests.conftest import Site
from tests.identity.world import World, run, world_fixture

SYSTEM = {"id", "tenant_id", "created_at", "updated_at", "created_by", "updated_by", "version"}


@pytest.fixture(scope="module")
def world(server: Site) -> Iterator[World]:
    yield from world_fixture(server)


def _stored(world: World, ticket_id: str) -> dict:
    table = world.registry.table("Ticket")
    return run(table.select().where(table.id == ticket_id).first().run())


def test_a_hidden_field_is_written_but_never_shown(world: World) -> None:
    owner = world.client("owner", "jwt")
    created = owner.post("/api/tickets", json={"subject": "h", "internal_notes": "SECRET-1"})
    assert created.status_code == 201, created.text
    ticket = created.json()
    path = f"/api/tickets/{ticket['id']}"
    patched = owner.patch(path, json={"internal_notes": "SECRET-2", "body": "visible"})
    assert patched.status_code == 200, patched.text
    assert _stored(world, ticket["id"])["internal_notes"] == "SECRET-2"
    answers = [
        created,
        patched,
        owner.get(path),
        owner.get("/api/tickets", params={"id": ticket["id"]}),
        owner.get(f"{path}/timeline"),
        owner.get("/auth/me"),
    ]
    for response in answers:
        assert response.status_code == 200 or response.status_code == 201, response.text
        assert "SECRET" not in response.text and "internal_notes" not in response.text
    changes = [entry["changes"] for entry in answers[4].json()["data"]]
    assert changes[0] == {"body": {"old": None, "new": "visible"}}
    probe = owner.get("/api/tickets", params={"internal_notes__icontains": "SECRET"})
    assert probe.status_code == 400
    assert probe.json()["errors"][0]["code"] == "unknown_field"
    with closing(admin_client(world.site.url, world.users["owner"].email)) as admin:
        listed = admin.get("/api/tables/ticket/", params={"__readable": "true"})
        detail = admin.get(f"/api/tables/ticket/{ticket['id']}/")
        filtered = admin.get("/api/tables/ticket/", params={"internal_notes": "SECRET-2"})
    for response in (listed, detail):
        assert response.status_code == 200, response.text
        assert "SECRET" not in response.text and "internal_notes" not in response.text
    assert detail.json()["subject"] == "h"
    assert filtered.status_code == 400


def test_fields_outside_the_read_set_are_absent_everywhere(world: World) -> None:
    owner = world.client("owner", "jwt")
    contact = owner.post("/api/contacts", json={"name": "Ann", "email": "ann@private.test"})
    ticket = owner.post(
        "/api/tickets",
        json={"subject": "s", "body": "BODY-1", "due_at": "2030-01-01T00:00:00Z",
              "contact": contact.json()["id"]},
    ).json()  # fmt: skip
    path = f"/api/tickets/{ticket['id']}"
    assert owner.patch(path, json={"body": "BODY-2", "priority": 4}).status_code == 200

    viewer = world.client("viewer", "session")
    got = viewer.get(path, params={"expand": "contact"})
    assert got.status_code == 200, got.text
    assert set(got.json()) == SYSTEM | {"subject", "status", "priority", "contact"}
    assert set(got.json()["contact"]) == SYSTEM | {"name"}  # expanded, without the email
    listed = viewer.get("/api/tickets", params={"id": ticket["id"], "expand": "contact"})
    assert [set(r) for r in listed.json()["data"]] == [set(got.json())]
    timeline = viewer.get(f"{path}/timeline").json()["data"]
    assert sorted(timeline[0]["changes"]) == ["priority"]
    me = viewer.get("/auth/me").json()["permissions"]
    assert me["Ticket"]["fields"] == {"read": ["subject", "status", "priority", "contact"],
                                      "write": []}  # fmt: skip
    assert me["Contact"]["fields"]["read"] == ["name"]
    for response in (got, listed, viewer.get(f"{path}/timeline")):
        assert "BODY" not in response.text and "ann@private" not in response.text
        assert "due_at" not in response.text
    for params in ({"body__icontains": "BODY"}, {"sort": "body"}, {"expand": "nothing"}):
        assert viewer.get("/api/tickets", params=params).status_code == 400, params

    with closing(admin_client(world.site.url, world.users["viewer"].email)) as admin:
        base = "/api/tables/ticket/"
        views = [
            admin.get(base, params={"__readable": "true"}),
            admin.get(f"{base}{ticket['id']}/"),
        ]
        for response in views:
            assert response.status_code == 200, response.text
            assert "BODY" not in response.text and '"body"' not in response.text
            assert "due_at" not in response.text
        assert views[1].json()["subject"] == "s"
        probes = [
            {"body": "BODY-2"},
            {"__order": "-body"},
            {"__visible_fields": "id,body"},
            {"__visible_fields": "id,contact.email"},  # joins: piccolo-admin refuses them too
        ]
        for params in probes:
            assert admin.get(base, params=params).status_code == 400, params
        assert ticket["id"] in [row["id"] for row in views[0].json()["rows"]]
        contacts = admin.get("/api/tables/contact/").json()["rows"]
        assert contacts and all(set(row) <= SYSTEM | {"name"} for row in contacts)
    with closing(admin_client(world.site.url, world.users["owner"].email)) as admin:
        for params in probes[:3]:  # the same requests are fine for a role that reads everything
            response = admin.get(base, params=params)
            assert response.status_code == 200, (params, response.text)
        assert "BODY-2" in admin.get(f"{base}{ticket['id']}/").text


def test_writing_a_field_outside_the_write_set_is_refused_naming_it(world: World) -> None:
    agent = world.client("agent", "api_token")
    ticket = agent.post("/api/tickets", json={"subject": "mine"}).json()
    path = f"/api/tickets/{ticket['id']}"
    refused = agent.patch(path, json={"subject": "fine", "status": "closed"})
    assert refused.status_code == 403
    assert refused.json()["detail"] == "you may not write the field 'status' of Ticket"
    after = agent.get(path).json()
    assert (after["subject"], after["status"], after["version"]) == ("mine", "new", 1)
    assert len(agent.get(f"{path}/timeline").json()["data"]) == 1  # the creation only

    requester = world.client("requester", "jwt")
    created = requester.post("/api/tickets", json={"subject": "x", "priority": 5})
    assert created.status_code == 403
    assert "'priority'" in created.json()["detail"]

    with closing(admin_client(world.site.url, world.users["agent"].email)) as admin:
        response = admin.patch(f"/api/tables/ticket/{ticket['id']}/", json={"status": "closed"})
    assert response.status_code == 403, response.text
    assert "'status'" in response.text
    assert agent.get(path).json()["status"] == "new"


def test_an_admin_save_never_writes_a_field_the_caller_cannot_read(world: World) -> None:
    """The edit form sends every field back; a hidden field it sends as null (the form never
    had its value) must keep its stored value, and the timeline names only what changed."""
    owner = world.client("owner", "jwt")
    ticket = owner.post(
        "/api/tickets", json={"subject": "keep", "internal_notes": "SECRET-KEEP"}
    ).json()
    form = {"subject": "keep, edited", "body": None, "status": "new", "priority": 3,
            "contact": None, "due_at": None, "internal_notes": None}  # fmt: skip
    with closing(admin_client(world.site.url, world.users["owner"].email)) as admin:
        saved = admin.put(f"/api/tables/ticket/{ticket['id']}/", json=form)
        assert saved.status_code < 300, saved.text
        patched = admin.patch(f"/api/tables/ticket/{ticket['id']}/", json={"internal_notes": ""})
        assert patched.status_code < 300, patched.text
    stored = _stored(world, ticket["id"])
    assert stored["internal_notes"] == "SECRET-KEEP"
    assert stored["subject"] == "keep, edited"
    timeline = owner.get(f"/api/tickets/{ticket['id']}/timeline").json()["data"]
    assert timeline[0]["changes"] == {"subject": {"old": "keep", "new": "keep, edited"}}
