"""CSRF tokens are bound to the session (an HMAC of its id): a cookie/header pair that is
valid for ANOTHER session is refused with this session's cookie, on /api, /auth and the admin
(piccolo-admin's JSON API and Plinth's own admin pages); a session's own pair still works."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from tests.admin_session import admin_client
from tests.conftest import PASSWORD, Site, serve_site, with_tenants

pytestmark = pytest.mark.postgres
NEW = "another long password"
CHANGE = {"old_password": PASSWORD, "new_password": NEW, "confirm_new_password": NEW}


@pytest.fixture(scope="module")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    yield from serve_site("postgres", tmp_path_factory.mktemp("csrf"))


@pytest.fixture
def site(pg_server: Site) -> Site:
    return with_tenants(pg_server)


def _login(site: Site, email: str) -> tuple[str, str]:
    """(session cookie, CSRF token) of a fresh POST /auth/login."""
    response = httpx.post(f"{site.url}/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return response.cookies["id"], response.json()["csrf_token"]


def _with(site: Site, session: str, token: str, root: str = "") -> httpx.Client:
    """A client holding `session` and the pair (cookie and header) `token`."""
    return httpx.Client(
        base_url=site.url + root,
        cookies={"id": session, "csrftoken": token},
        headers={"X-CSRFToken": token},
        timeout=30,
    )


def test_the_api_refuses_a_pair_from_another_session(site: Site) -> None:
    mine, my_token = _login(site, site.a)
    _, their_token = _login(site, site.b)
    _, my_other_token = _login(site, site.a)  # even the same user's other session
    assert len({my_token, their_token, my_other_token}) == 3
    for forged in (their_token, my_other_token):
        with closing(_with(site, mine, forged)) as client:
            for response in (
                client.post("/api/tickets", json={"subject": "forged"}),
                client.post("/auth/logout"),
            ):
                assert response.status_code == 403, response.text
                assert "this session's CSRF token" in response.json()["detail"]
    with closing(_with(site, mine, my_token)) as client:
        assert client.get("/api/tickets").json()["data"] == []  # nothing was written
        assert client.post("/api/tickets", json={"subject": "real"}).status_code == 201
        assert client.post("/auth/logout").status_code == 204


def test_the_admin_refuses_a_pair_from_another_session(site: Site) -> None:
    with (
        closing(admin_client(site.url, site.a)) as mine,
        closing(admin_client(site.url, site.b)) as theirs,
    ):
        created = mine.post("/api/tables/ticket/", json={"subject": "kept"})
        assert created.status_code == 201, created.text
        ticket = created.json()[0]["id"]
        session, token = mine.cookies["id"], mine.cookies["csrftoken"]
        forged = theirs.cookies["csrftoken"]
        assert forged != token
        with closing(_with(site, session, forged, "/admin")) as client:
            for response in (
                client.patch(f"/api/tables/ticket/{ticket}/", json={"subject": "forged"}),
                client.delete(f"/api/tables/ticket/{ticket}/"),
                client.post("/api/change-password/", json=CHANGE),
                client.post("/members/", data={"csrftoken": forged, "email": "x@y.test"}),
                client.post("/public/logout/"),
            ):
                assert response.status_code == 403, (response.request.url, response.text)
        with closing(_with(site, session, token, "/admin")) as client:  # the session's own
            row = client.get(f"/api/tables/ticket/{ticket}/").json()
            assert row["subject"] == "kept"
            saved = client.patch(f"/api/tables/ticket/{ticket}/", json={"subject": "edited"})
            assert saved.status_code < 300, saved.text


def test_the_admin_hands_a_session_its_own_token(site: Site) -> None:
    """A session whose csrftoken cookie is not its own (an older one, another session's) gets
    its own on the next page load, and then works; the login sets the bound one at once."""
    session, token = _login(site, site.a)
    with closing(_with(site, session, "stale-token", "/admin")) as client:
        assert client.patch("/api/tables/ticket/x/", json={}).status_code == 403
        page = client.get("/")
        assert page.status_code == 200
        assert page.cookies["csrftoken"] == token  # the same HMAC the API's login gave
    with closing(admin_client(site.url, site.b)) as admin:  # piccolo-admin's own login
        _, api_token = _login(site, site.b)
        assert admin.cookies["csrftoken"] not in ("", api_token)  # bound to its own session
        made = admin.post("/api/tables/ticket/", json={"subject": "via admin"})
        assert made.status_code == 201, made.text


def test_nothing_in_the_docs_promises_plain_double_submit() -> None:
    guide = (Path(__file__).resolve().parents[2] / "docs" / "guides" / "auth.md").read_text()
    assert "bound to the session" in guide
