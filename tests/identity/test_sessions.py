"""Sessions: POST /auth/login sets piccolo-admin's session cookie, so one login serves /api,
/auth and /admin; cookie-authenticated unsafe requests need the CSRF header; logout ends the
session server-side; the active organization must be one of the caller's; logins do not tell
an unknown account from a wrong password."""

from __future__ import annotations

import json
import statistics
import time
import uuid
from contextlib import closing

import httpx
import pytest

from runtime.database import engine_from_url
from runtime.definitions import load_project
from runtime.identity import accounts
from runtime.schema import build_registry
from runtime.settings import read_settings
from tests.admin_session import admin_client
from tests.conftest import DEFINITIONS, PASSWORD, Site
from tests.identity.world import run, session_client


def _registry(site: Site):
    return build_registry(
        load_project(DEFINITIONS), engine_from_url(site.env["PLINTH_DATABASE_URL"])
    )


def test_a_cookie_authenticated_write_needs_the_csrf_header(site: Site) -> None:
    with closing(session_client(site.url, site.a)) as client:
        token = client.headers.pop("X-CSRFToken")
        assert client.get("/api/tickets").status_code == 200  # safe methods need no token
        refused = [
            client.post("/api/tickets", json={"subject": "forged"}),
            client.post("/api/tickets", json={"subject": "forged"}, headers={"X-CSRFToken": "x"}),
        ]
        for response in refused:
            assert response.status_code == 403, response.text
            assert response.headers["content-type"] == "application/problem+json"
            assert "CSRF" in response.json()["detail"]
        assert client.get("/api/tickets").json()["data"] == []  # nothing was written
        accepted = client.post(
            "/api/tickets", json={"subject": "real"}, headers={"X-CSRFToken": token}
        )
        assert accepted.status_code == 201, accepted.text
        path = f"/api/tickets/{accepted.json()['id']}"
        assert client.patch(path, json={"subject": "x"}).status_code == 403
        assert client.delete(path).status_code == 403
        assert client.delete(path, headers={"X-CSRFToken": token}).status_code == 204


def test_the_session_cookie_is_httponly_lax_and_lasts_session_ttl(site: Site) -> None:
    response = httpx.post(f"{site.url}/auth/login", json={"email": site.a, "password": PASSWORD})
    assert response.status_code == 200
    cookies = {c.split("=", 1)[0]: c.lower() for c in response.headers.get_list("set-cookie")}
    session = cookies["id"]
    assert "httponly" in session and "samesite=lax" in session and "path=/" in session
    assert "max-age=28800" in session  # session_ttl: 8h by default
    assert "secure" not in session  # PLINTH_SECURE_COOKIES=false in the tests
    assert "httponly" not in cookies["csrftoken"]  # the page's script must read it
    assert response.json()["csrf_token"] == response.cookies["csrftoken"]


def test_secure_cookies_outside_the_embedded_default(site: Site) -> None:
    from runtime.app import build_app

    env = {**site.env, "PLINTH_SECURE_COOKIES": "true"}
    app = build_app(read_settings(env), _registry(site), run_worker=False)

    async def login() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
            return await c.post("/auth/login", json={"email": site.a, "password": PASSWORD})

    response = run(login())
    assert response.status_code == 200, response.text
    for cookie in response.headers.get_list("set-cookie"):
        assert "; secure" in cookie.lower(), cookie


def test_an_admin_login_works_on_the_api_and_an_api_login_in_the_admin(site: Site) -> None:
    with closing(admin_client(site.url, site.a)) as admin:  # piccolo-admin's own login
        api = httpx.Client(base_url=site.url, cookies=admin.cookies, headers=admin.headers)
        with api:
            created = api.post("/api/tickets", json={"subject": "from the admin session"})
            assert created.status_code == 201, created.text
            me = api.get("/auth/me").json()
            assert (me["auth"], me["user"]["email"]) == ("session", site.a)
    with closing(session_client(site.url, site.a)) as client:  # POST /auth/login
        rows = client.get("/admin/api/tables/ticket/").json()["rows"]
        assert [r["subject"] for r in rows] == ["from the admin session"]
        made = client.post("/admin/api/tables/ticket/", json={"subject": "via admin"})
        assert made.status_code == 201, made.text


def test_logout_ends_the_session_on_the_server(site: Site) -> None:
    client = session_client(site.url, site.a)
    cookie = client.cookies["id"]
    with closing(client):
        refused = client.post("/auth/logout", headers={"X-CSRFToken": "wrong"})
        assert refused.status_code == 403
        assert client.get("/api/tickets").status_code == 200
        assert client.post("/auth/logout").status_code == 204
    registry = _registry(site)
    table = registry.session
    assert run(table.count().where(table.token == cookie).run()) == 0
    replay = httpx.Client(base_url=site.url, cookies={"id": cookie})
    with replay:
        assert replay.get("/api/tickets").status_code == 401
        assert replay.get("/admin/api/tables/ticket/").status_code == 401


def test_the_active_organization_must_be_one_of_the_callers(site: Site) -> None:
    registry = _registry(site)
    run(accounts.grant_role(registry, site.a, site.orgs[site.b], "viewer"))
    home, other = site.orgs[site.a], site.orgs[site.b]
    with closing(session_client(site.url, site.a, organization=other)) as client:
        me = client.get("/auth/me").json()
        assert me["organization"]["slug"] == other and me["roles"] == ["viewer"]
        assert sorted(m["organization"] for m in me["memberships"]) == sorted([home, other])
        switched = client.get("/auth/me", headers={"X-Organization": home}).json()
        assert switched["organization"]["slug"] == home and switched["roles"] == ["owner"]
    with site.client(site.b) as client:
        foreign = client.get("/api/tickets", headers={"X-Organization": home})
        missing = client.get("/api/tickets", headers={"X-Organization": "no-such-org"})
        by_id = client.get("/auth/me", headers={"X-Organization": str(uuid.uuid4())})
    assert foreign.status_code == missing.status_code == by_id.status_code == 403
    assert foreign.json() == missing.json() == by_id.json()
    login = httpx.post(
        f"{site.url}/auth/login",
        json={"email": site.b, "password": PASSWORD, "organization": home},
    )
    assert login.status_code == 403 and login.json() == foreign.json()


@pytest.mark.alone  # it compares the answers' times
def test_login_answers_alike_for_an_unknown_account_and_a_wrong_password(site: Site) -> None:
    registry = _registry(site)
    run(accounts.create_user(registry, f"inactive-{site.a}", PASSWORD))
    user = registry.user
    run(user.update({user.active: False}).where(user.email == f"inactive-{site.a}").run())
    attempts = {
        "wrong password": {"email": site.a, "password": "not the password"},
        "unknown account": {"email": f"nobody-{site.a}", "password": "not the password"},
        "inactive account": {"email": f"inactive-{site.a}", "password": PASSWORD},
    }
    answers, timings = {}, {}
    addresses = (f"192.0.2.{n}" for n in range(1, 100))  # the per-IP throttle stays out
    for case, body in attempts.items():
        for route in ("/auth/token", "/auth/login"):
            samples = []
            for _ in range(3):
                ip = {"X-Forwarded-For": next(addresses)}
                start = time.perf_counter()
                response = httpx.post(f"{site.url}{route}", json=body, headers=ip)
                samples.append(time.perf_counter() - start)
                answers[case, route] = (response.status_code, response.text)
            timings[case, route] = statistics.median(samples)
    for route in ("/auth/token", "/auth/login"):
        seen = {answers[case, route] for case in attempts}
        assert len(seen) == 1, seen
        status, body = seen.pop()
        assert status == 401 and json.loads(body)["detail"] == "wrong email or password"
        fastest = min(timings[case, route] for case in attempts)
        slowest = max(timings[case, route] for case in attempts)
        assert slowest < 3 * fastest, timings  # every case pays for one argon2 verification
