"""Token lifecycle on a server with short lifetimes (access_token_ttl 5s, session_ttl 8s):
expiry, refresh rotation, reuse detection revoking the family, logout, signing-key rotation,
and API tokens (created and revoked with the CLI, bound to one organization, last_used_at,
named in the timeline)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import httpx
import jwt
import pytest

from runtime.database import engine_from_url
from runtime.definitions import load_project
from runtime.schema import build_registry
from tests.conftest import PASSWORD, Site, bearer_client, plinth, with_tenants
from tests.identity.conftest import serve_with_platform
from tests.identity.world import run, session_client

ACCESS_TTL, SESSION_TTL = 5, 8
PLATFORM = f"auth: {{access_token_ttl: {ACCESS_TTL}s, session_ttl: {SESSION_TTL}s}}\n"


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def short_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    yield from serve_with_platform(request.param, tmp_path_factory.mktemp("short"), PLATFORM)


@pytest.fixture
def site(short_server: Site) -> Site:
    return with_tenants(short_server)


def _registry(site: Site):
    definitions = site.env["PLINTH_DEFINITIONS"]
    return build_registry(
        load_project(definitions), engine_from_url(site.env["PLINTH_DATABASE_URL"])
    )


def _login(site: Site, email: str) -> dict:
    response = httpx.post(f"{site.url}/auth/token", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return response.json()


def _refresh(site: Site, token: str) -> httpx.Response:
    return httpx.post(f"{site.url}/auth/token/refresh", json={"refresh_token": token})


def _works(site: Site, access: str) -> int:
    with bearer_client(site.url, access) as client:
        return client.get("/api/tickets").status_code


def test_the_token_response_carries_both_tokens_and_the_lifetime(site: Site) -> None:
    body = _login(site, site.a)
    assert set(body) == {
        "access_token", "token_type", "expires_in", "refresh_token", "organization",
    }  # fmt: skip
    assert (body["token_type"], body["expires_in"]) == ("bearer", ACCESS_TTL)
    assert body["refresh_token"].startswith("plr_")
    assert body["organization"] == site.orgs[site.a]


def test_access_tokens_sessions_and_logins_expire(site: Site) -> None:
    tokens = _login(site, site.a)
    session = session_client(site.url, site.a)
    assert _works(site, tokens["access_token"]) == 200
    assert session.get("/api/tickets").status_code == 200
    time.sleep(SESSION_TTL + 1)
    expired = bearer_client(site.url, tokens["access_token"]).get("/api/tickets")
    assert expired.status_code == 401
    assert expired.json()["detail"] == "the token is invalid or expired"
    assert session.get("/api/tickets").status_code == 401
    assert session.get("/admin/api/tables/ticket/").status_code == 401
    assert _refresh(site, tokens["refresh_token"]).status_code == 401  # the login is over
    session.close()


def test_refresh_rotates_the_refresh_token(site: Site) -> None:
    first = _login(site, site.a)
    rotated = _refresh(site, first["refresh_token"])
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert _works(site, second["access_token"]) == 200
    third = _refresh(site, second["refresh_token"])
    assert third.status_code == 200
    registry = _registry(site)
    table = registry.refresh_token
    rows = run(table.select().where(table.user == _user_id(site, site.a)).run())
    assert len({row["family_id"] for row in rows}) == 1 and len(rows) == 3
    assert all(len(row["token_hash"]) == 64 for row in rows)  # digests, not the tokens
    assert first["refresh_token"] not in str(rows)


def test_a_reused_refresh_token_revokes_the_whole_family(site: Site) -> None:
    first = _login(site, site.a)
    second = _refresh(site, first["refresh_token"]).json()
    other_login = _login(site, site.a)  # another device: its own family
    reused = _refresh(site, first["refresh_token"])
    assert reused.status_code == 401
    assert reused.headers["content-type"] == "application/problem+json"
    assert _refresh(site, second["refresh_token"]).status_code == 401  # the family is revoked
    assert _works(site, second["access_token"]) == 401  # and so are its access tokens
    assert _works(site, other_login["access_token"]) == 200  # the other login is untouched
    assert _refresh(site, other_login["refresh_token"]).status_code == 200


def test_logout_ends_a_token_login(site: Site) -> None:
    tokens = _login(site, site.a)
    with bearer_client(site.url, tokens["access_token"]) as client:
        assert client.post("/auth/logout").status_code == 204
    assert _works(site, tokens["access_token"]) == 401
    assert _refresh(site, tokens["refresh_token"]).status_code == 401
    by_refresh = _login(site, site.a)  # an app whose access token expired logs out with this
    response = httpx.post(
        f"{site.url}/auth/logout", json={"refresh_token": by_refresh["refresh_token"]}
    )
    assert response.status_code == 204
    assert _works(site, by_refresh["access_token"]) == 401
    assert _refresh(site, by_refresh["refresh_token"]).status_code == 401


def test_signing_keys_rotate_by_kid(site: Site) -> None:
    """A server configured `new:NEW,default:OLD` accepts the tokens the running server
    (plain OLD) issued, and signs with NEW, which the old configuration refuses."""
    from runtime.app import build_app
    from runtime.settings import read_settings

    old_secret = site.env["PLINTH_SECRET_KEY"]
    rotated = {**site.env, "PLINTH_SECRET_KEY": f"new:{'n' * 40},default:{old_secret}"}
    app = build_app(read_settings(rotated), _registry(site), run_worker=False)
    old_token = _login(site, site.a)["access_token"]

    async def with_rotated_keys() -> tuple[int, str]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            old = await client.get("/api/tickets", headers={"Authorization": f"Bearer {old_token}"})
            new = await client.post("/auth/token", json={"email": site.a, "password": PASSWORD})
            return old.status_code, new.json()["access_token"]

    status, new_token = run(with_rotated_keys())
    assert status == 200
    assert jwt.get_unverified_header(new_token)["kid"] == "new"
    assert jwt.get_unverified_header(old_token)["kid"] == "default"
    assert _works(site, new_token) == 401  # the running server does not know kid "new"


def _user_id(site: Site, email: str):
    registry = _registry(site)
    user = registry.user
    return run(user.select(user.id).where(user.email == email).first().run())["id"]


def test_api_tokens_are_shown_once_bound_to_one_organization_and_revocable(site: Site) -> None:
    created = site.plinth(
        "token", "create", "--user", site.a, "--org", site.orgs[site.a], "--name", "ci bot"
    )
    token = created.stdout.strip()
    assert re.fullmatch(r"plt_[A-Za-z0-9_-]{43}", token), created.stdout
    token_id = re.search(r"API token ([0-9a-f-]{36})", created.stderr).group(1)  # type: ignore[union-attr]
    registry = _registry(site)
    table = registry.api_token
    row = run(table.select().where(table.id == token_id).first().run())
    assert row["token_hash"] != token and token not in str(row) and row["last_used_at"] is None

    with bearer_client(site.url, token) as client:
        made = client.post("/api/tickets", json={"subject": "by the bot"})
        assert made.status_code == 201, made.text
        timeline = client.get(f"/api/tickets/{made.json()['id']}/timeline").json()["data"]
        assert timeline[0]["actor"] == f"token:ci bot ({site.a})"
        me = client.get("/auth/me").json()
        assert me["auth"] == "api_token" and me["token"] == {"id": token_id, "name": "ci bot"}
        assert me["organization"]["slug"] == site.orgs[site.a]
        other = client.get("/api/tickets", headers={"X-Organization": site.orgs[site.b]})
        assert other.status_code == 403
    row = run(table.select().where(table.id == token_id).first().run())
    assert row["last_used_at"] is not None
    listed = site.plinth("token", "list", "--user", site.a).stdout
    assert token_id in listed and "active" in listed and "last used: never" not in listed

    assert site.plinth("token", "revoke", token_id).returncode == 0
    with bearer_client(site.url, token) as client:
        revoked = client.get("/api/tickets")
    assert revoked.status_code == 401
    assert revoked.json()["detail"] == "the API token is invalid or revoked"
    assert "revoked" in site.plinth("token", "list", "--user", site.a).stdout


def test_an_api_token_needs_a_membership(site: Site) -> None:
    result = plinth(
        "token", "create", "--user", site.a, "--org", site.orgs[site.b], "--name", "x",
        env=site.env, cwd=site.workdir, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "is not a member of" in result.stderr


def test_grant_and_revoke_roles_from_the_cli(site: Site) -> None:
    org = site.orgs[site.b]
    assert (
        "granted viewer"
        in site.plinth("user", "grant", site.a, "--org", org, "--role", "viewer").stdout
    )
    with bearer_client(site.url, site.token(site.a)) as client:
        me = client.get("/auth/me", headers={"X-Organization": org}).json()
        assert me["roles"] == ["viewer"]
        assert me["permissions"]["Ticket"]["create"] is False
    assert (
        "revoked viewer"
        in site.plinth("user", "revoke", site.a, "--org", org, "--role", "viewer").stdout
    )
    with bearer_client(site.url, site.token(site.a)) as client:  # access tokens live 5s here
        assert client.get("/auth/me", headers={"X-Organization": org}).status_code == 403
