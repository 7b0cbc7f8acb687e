"""Two organizations through the HTTP API: nothing of one is visible or writable by the other."""

from __future__ import annotations

import pytest

from tests.conftest import Site


def _ticket(site: Site, email: str, subject: str, **values) -> dict:
    with site.client(email) as client:
        response = client.post("/api/tickets", json={"subject": subject, **values})
    assert response.status_code == 201, response.text
    return response.json()


def test_every_item_route_answers_404_for_another_tenants_record(site: Site) -> None:
    theirs = _ticket(site, site.b, "globex secret")
    with site.client(site.a) as client:
        path = f"/api/tickets/{theirs['id']}"
        answers = [
            client.get(path),
            client.patch(path, json={"subject": "hijacked"}),
            client.delete(path),
            client.get(f"{path}/timeline"),
        ]
    for response in answers:
        assert response.status_code == 404, (response.request.method, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert "globex secret" not in response.text
    with site.client(site.b) as client:
        still = client.get(f"/api/tickets/{theirs['id']}").json()
    assert still["subject"] == "globex secret" and still["version"] == 1


def test_lists_show_only_the_callers_organization(site: Site) -> None:
    mine = _ticket(site, site.a, "acme ticket")
    _ticket(site, site.b, "globex ticket")
    with site.client(site.a) as client:
        listed = client.get("/api/tickets", params={"count": "true"}).json()
        searched = client.get("/api/tickets", params={"subject__icontains": "globex"}).json()
    assert [t["id"] for t in listed["data"]] == [mine["id"]]
    assert listed["meta"]["count"] == 1
    assert searched["data"] == []


def test_a_reference_to_another_tenants_record_is_refused(site: Site) -> None:
    with site.client(site.b) as client:
        contact = client.post("/api/contacts", json={"name": "Globex contact"}).json()
    with site.client(site.a) as client:
        response = client.post("/api/tickets", json={"subject": "x", "contact": contact["id"]})
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "contact", "code": "reference", "message": f"no Contact with id {contact['id']}"}
    ]


def test_the_organization_header_must_be_one_of_the_users(site: Site) -> None:
    import httpx

    response = httpx.post(
        f"{site.url}/auth/token",
        json={"email": site.a, "password": "correct horse battery staple"},
        headers={"X-Organization": site.orgs[site.b]},
    )
    assert response.status_code == 403
    unknown = httpx.post(
        f"{site.url}/auth/token",
        json={"email": site.a, "password": "correct horse battery staple"},
        headers={"X-Organization": "no-such-org"},
    )
    assert unknown.status_code == 403 and unknown.json()["detail"] == response.json()["detail"]


@pytest.mark.parametrize(
    ("payload", "errors"),
    [
        ({}, [("subject", "required")]),
        ({"subject": "x" * 201}, [("subject", "max_length")]),
        (
            {"subject": "ok", "priority": 9, "status": "bogus"},
            [("priority", "max"), ("status", "choice")],
        ),
        ({"subject": "ok", "due_at": "tomorrow"}, [("due_at", "type")]),
        ({"subject": "ok", "nope": 1}, [("nope", "unknown")]),
    ],
)
def test_bad_input_answers_problem_json_with_every_error(
    site: Site, payload: dict, errors: list[tuple[str, str]]
) -> None:
    with site.client(site.a) as client:
        response = client.post("/api/tickets", json=payload)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert [(e["field"], e["code"]) for e in body["errors"]] == errors


def test_unauthenticated_and_malformed_requests_get_problems_not_500(site: Site) -> None:
    import httpx

    assert httpx.get(f"{site.url}/api/tickets").status_code == 401
    with site.client(site.a) as client:
        assert client.post("/api/tickets", content=b"{not json").status_code == 400
        assert client.get("/api/tickets", params={"filter": "{"}).status_code == 400
        assert client.get("/api/tickets", params={"nosuch": "1"}).status_code == 400
        assert client.get("/api/tickets/not-a-uuid").status_code == 404
        assert client.get("/api/nothing").status_code == 404


def test_search_fields_and_expand(site: Site) -> None:
    with site.client(site.a) as client:
        contact = client.post("/api/contacts", json={"name": "Zoë Ünal"}).json()
        ticket = client.post(
            "/api/tickets", json={"subject": "Refund for ÉCOLE", "contact": contact["id"]}
        ).json()
        client.post("/api/tickets", json={"subject": "unrelated"})
        found = client.get("/api/tickets", params={"search": "école", "count": "true"}).json()
        assert [t["id"] for t in found["data"]] == [ticket["id"]] and found["meta"]["count"] == 1
        shaped = client.get(
            f"/api/tickets/{ticket['id']}", params={"fields": "subject,contact.name"}
        )
        assert shaped.json() == {
            "id": ticket["id"],
            "version": 1,
            "subject": "Refund for ÉCOLE",
            "contact": {"id": contact["id"], "name": "Zoë Ünal"},
        }
        assert shaped.headers["etag"] == 'W/"1"'
        expanded = client.get("/api/tickets", params={"expand": "contact", "search": "refund"})
        assert expanded.json()["data"][0]["contact"]["name"] == "Zoë Ünal"
        bad = client.get("/api/tickets", params={"expand": "subject"})
        assert bad.status_code == 400 and bad.json()["errors"][0]["code"] == "expand"


def test_a_superuser_acts_in_any_organization_by_its_header(site: Site) -> None:
    """A superuser who is a member of neither organization chooses one with X-Organization
    (slug or id) and acts there as its owner would; an unknown one is the members' 403."""
    import uuid

    import httpx

    from tests.conftest import PASSWORD

    root = f"root-{uuid.uuid4().hex[:6]}@plinth.test"
    site.plinth("user", "create", root, "--password-stdin", "--superuser", input=PASSWORD)
    theirs = _ticket(site, site.b, "globex only")
    _ticket(site, site.a, "acme only")
    b_slug = site.orgs[site.b]
    token = site.token(root)  # no organization of their own: spans them
    with httpx.Client(
        base_url=site.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as client:
        me = client.get("/auth/me", headers={"X-Organization": b_slug}).json()
        assert me["organization"]["slug"] == b_slug and me["roles"] == ["owner"]
        assert me["user"]["superuser"] is True and me["memberships"] == []
        listed = client.get("/api/tickets", headers={"X-Organization": b_slug}).json()
        assert [t["subject"] for t in listed["data"]] == ["globex only"]
        by_id = client.get("/api/tickets", headers={"X-Organization": me["organization"]["id"]})
        assert [t["id"] for t in by_id.json()["data"]] == [theirs["id"]]
        made = client.post(
            "/api/tickets", json={"subject": "from root"}, headers={"X-Organization": b_slug}
        )
        assert made.status_code == 201, made.text
        unknown = client.get("/api/tickets", headers={"X-Organization": "no-such-org"})
        assert unknown.status_code == 403
        assert unknown.json()["detail"] == "you are not a member of that organization"
    with site.client(site.b) as owner_b:
        subjects = {t["subject"] for t in owner_b.get("/api/tickets").json()["data"]}
    assert subjects == {"globex only", "from root"}
    token_b = site.token(root, b_slug)  # a token issued for B works in B without the header
    with httpx.Client(
        base_url=site.url, headers={"Authorization": f"Bearer {token_b}"}, timeout=30
    ) as client:
        assert client.get("/auth/me").json()["organization"]["slug"] == b_slug
