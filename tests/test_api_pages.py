"""Pages through HTTP: opaque cursors that a client cannot forge, edit or carry to another
list; sorts through references under the caller's field rules; count=estimate; a paged
timeline, which stays readable after a delete to callers whose read rule matched."""

from __future__ import annotations

import base64
import uuid

import httpx
import pytest

from runtime.api import cursors
from runtime.api.problems import Problem
from runtime.identity import accounts
from runtime.identity.keys import KeyRing
from runtime.schema.registry import Registry
from tests.admin_session import on_database
from tests.conftest import PASSWORD, Site


def _members(site: Site, *roles: str) -> dict[str, str]:
    """A new user per role in A's organization: role → email."""
    suffix = uuid.uuid4().hex[:6]
    emails = {role: f"{role}-{suffix}-{i}@acme.test" for i, role in enumerate(roles)}

    async def add(registry: Registry) -> None:
        for role, email in emails.items():
            await accounts.create_user(registry, email, PASSWORD)
            await accounts.grant_role(registry, email, site.orgs[site.a], role)

    on_database(site, add)
    return emails


def _refused(response: httpx.Response, words: str) -> None:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert words in response.text, response.text


def _walk(client: httpx.Client, path: str, **params: str) -> list[dict]:
    seen, cursor = [], None
    while True:
        page = client.get(path, params={**params, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        seen += page.json()["data"]
        cursor = page.json()["meta"]["next_cursor"]
        if cursor is None:
            return seen


def test_a_cursor_shows_nothing_of_its_values_and_survives_a_key_rotation() -> None:
    old = KeyRing.parse("k1:" + "o" * 40)
    rotated = KeyRing.parse("k2:" + "n" * 40 + ",k1:" + "o" * 40)
    binding, values = ["records", "Contact", None], ["name,id", ["Zoë Secret", "id-1"]]
    cursor = cursors.encode(old, binding, values)
    payload = cursor.partition(".")[0]
    opened = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    assert b"Secret" not in opened and b"Contact" not in opened
    assert cursors.encode(old, binding, values) != cursor  # a fresh nonce each time
    assert cursors.decode(rotated, cursor, binding) == values
    with pytest.raises(Problem, match="not a cursor this API gave"):
        cursors.decode(KeyRing.parse("k2:" + "n" * 40), cursor, binding)
    with pytest.raises(Problem, match="another list"):
        cursors.decode(old, cursor, ["records", "Contact", str(uuid.uuid4())])


def test_cursors_page_a_list_and_refuse_every_other_use(site: Site) -> None:
    with site.client(site.a) as client:
        made = [
            client.post("/api/tickets", json={"subject": f"s{i % 3}", "priority": i % 2 + 1})
            for i in range(7)
        ]
        client.post("/api/contacts", json={"name": "c1"})
        client.post("/api/contacts", json={"name": "c2"})
        walked = _walk(client, "/api/tickets", sort="-priority,subject", limit="3")
        assert sorted(t["id"] for t in walked) == sorted(r.json()["id"] for r in made)
        assert [(t["priority"], t["subject"]) for t in walked] == sorted(
            ((t["priority"], t["subject"]) for t in walked), key=lambda p: (-p[0], p[1])
        )
        cursor = client.get("/api/tickets", params={"limit": 2}).json()["meta"]["next_cursor"]
        other = client.get("/api/contacts", params={"limit": 1}).json()["meta"]["next_cursor"]
        payload, _, mac = cursor.partition(".")
        flipped = payload[:-1] + ("A" if payload[-1] != "A" else "B")
        _refused(client.get("/api/tickets", params={"cursor": f"{flipped}.{mac}"}), "API gave")
        _refused(client.get("/api/tickets", params={"cursor": cursor + "x"}), "API gave")
        _refused(client.get("/api/tickets", params={"cursor": other}), "another list")
        _refused(
            client.get("/api/tickets", params={"cursor": cursor, "sort": "subject"}),
            "given for another sort",
        )
        # Signed with the server's key, as a leaked key would allow: still checked.
        keys = KeyRing.parse(site.env["PLINTH_SECRET_KEY"])
        tenant = client.get("/auth/me").json()
        binding = ["records", "Ticket", _organization_id(site, tenant)]
        for values in (
            ["priority,id", [2**64, str(uuid.uuid4())]],
            ["priority,id", ["high", str(uuid.uuid4())]],
        ):
            forged = cursors.encode(keys, binding, values)
            response = client.get("/api/tickets", params={"cursor": forged, "sort": "priority"})
            _refused(response, "cursor")
    with site.client(site.b) as client:
        _refused(client.get("/api/tickets", params={"cursor": cursor}), "another list")


def _organization_id(site: Site, me: dict) -> str:
    async def find(registry: Registry) -> str:
        org = registry.organization
        row = await org.select(org.id).where(org.slug == site.orgs[site.a]).first().run()
        return str(row["id"])

    return on_database(site, find)


def test_sorts_through_references_obey_the_callers_field_rules(site: Site) -> None:
    emails = _members(site, "viewer", "agent")
    with site.client(site.a) as client:
        for name in ("Zoe", "adam", "Bea"):
            contact = client.post("/api/contacts", json={"name": name, "email": f"{name}@x.io"})
            client.post("/api/tickets", json={"subject": name, "contact": contact.json()["id"]})
        client.post("/api/tickets", json={"subject": "nobody"})
    with site.client(emails["viewer"]) as viewer:
        walked = _walk(viewer, "/api/tickets", sort="contact.name", limit="2")
        assert [t["subject"] for t in walked] == ["Bea", "Zoe", "adam", "nobody"]  # NULL last
        for sort in ("contact.email", "body", "internal_notes", "-contact.email"):
            _refused(viewer.get("/api/tickets", params={"sort": sort}), sort.lstrip("-"))
    with site.client(emails["agent"]) as agent:
        walked = _walk(agent, "/api/tickets", sort="-contact.email", limit="3")
        assert [t["subject"] for t in walked] == ["nobody", "adam", "Zoe", "Bea"]  # NULL first


def test_count_true_or_estimate(site: Site) -> None:
    with site.client(site.a) as client:
        for i in range(3):
            client.post("/api/tickets", json={"subject": f"count {i}"})
        exact = client.get("/api/tickets", params={"count": "true"}).json()["meta"]
        estimate = client.get("/api/tickets", params={"count": "estimate"}).json()["meta"]
        _refused(client.get("/api/tickets", params={"count": "maybe"}), "count")
    assert exact["count"] == 3 and "count_exact" not in exact
    if site.env["PLINTH_DATABASE_URL"].startswith("sqlite"):
        assert (estimate["count"], estimate["count_exact"]) == (3, True)
    else:
        assert estimate["count_exact"] is False and estimate["count"] >= 0


def test_the_timeline_pages_newest_first(site: Site) -> None:
    with site.client(site.a) as client:
        ticket = client.post("/api/tickets", json={"subject": "v0"}).json()
        path = f"/api/tickets/{ticket['id']}"
        for i in range(1, 6):
            assert client.patch(path, json={"subject": f"v{i}"}).status_code == 200
        walked = _walk(client, f"{path}/timeline", limit="2")
        client.post("/api/tickets", json={"subject": "another"})
        list_cursor = client.get("/api/tickets", params={"limit": 1}).json()["meta"]["next_cursor"]
        _refused(client.get(f"{path}/timeline", params={"cursor": list_cursor}), "another list")
        _refused(client.get(f"{path}/timeline", params={"limit": "0"}), "limit")
    assert [e["changes"]["subject"]["new"] for e in walked[:-1]] == [
        "v5", "v4", "v3", "v2", "v1",
    ]  # fmt: skip
    assert walked[-1]["event"] == "created" and len({e["id"] for e in walked}) == 6


def test_a_deleted_records_timeline_stays_readable_to_who_could_read_it(site: Site) -> None:
    emails = _members(site, "requester", "viewer")
    other_requester = _members(site, "requester")["requester"]
    with site.client(emails["requester"]) as requester:
        ticket = requester.post("/api/tickets", json={"subject": "mine", "body": "b"}).json()
        path = f"/api/tickets/{ticket['id']}"
        assert requester.patch(path, json={"subject": "still mine"}).status_code == 200
        assert requester.delete(path).status_code == 204
        assert requester.get(path).status_code == 404
        entries = requester.get(f"{path}/timeline").json()["data"]
    assert [e["event"] for e in entries] == ["deleted", "updated", "created"]
    assert entries[0]["changes"]["subject"] == {"old": "still mine", "new": None}
    with site.client(emails["viewer"]) as viewer:  # read: true, fields without body
        seen = viewer.get(f"{path}/timeline")
    assert seen.status_code == 200 and "body" not in seen.json()["data"][0]["changes"]
    with site.client(other_requester) as stranger:  # reads only what they created
        assert stranger.get(f"{path}/timeline").status_code == 404
    with site.client(site.b) as other_org:
        assert other_org.get(f"{path}/timeline").status_code == 404
