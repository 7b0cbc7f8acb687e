"""Simultaneous refreshes of one refresh token over HTTP: exactly one rotation wins, the others
are reuse, and reuse ends the whole login — also the token the winner got in the same instant.
Several trials per size, since the race it guards against lost only some of them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from runtime.database import engine_from_url
from runtime.definitions import load_project
from runtime.identity import refresh
from runtime.schema import build_registry
from tests.conftest import PASSWORD, Site, with_tenants
from tests.identity.conftest import serve_with_platform

TRIALS = 8


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def crowded_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """A server with a pool of 2 connections: requests queue for one between statements,
    which is when a rotation's statements used to be overtaken by a loser's revocation."""
    workdir = tmp_path_factory.mktemp("crowded")
    yield from serve_with_platform(request.param, workdir, PLINTH_DB_POOL_SIZE="2")


@pytest.fixture
def site(crowded_server: Site) -> Site:
    return with_tenants(crowded_server)


async def _refresh_at_once(url: str, token: str, n: int) -> list[httpx.Response]:
    limits = httpx.Limits(max_keepalive_connections=n)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
        # n connections open first, so the refreshes leave together, not one per handshake
        await asyncio.gather(*(http.get("/auth/token/refresh") for _ in range(n)))
        return await asyncio.gather(
            *(http.post("/auth/token/refresh", json={"refresh_token": token}) for _ in range(n))
        )


def _status(site: Site, refresh_token: str) -> int:
    body = {"refresh_token": refresh_token}
    return httpx.post(f"{site.url}/auth/token/refresh", json=body).status_code


def _access(site: Site, access_token: str) -> int:
    headers = {"Authorization": f"Bearer {access_token}"}
    return httpx.get(f"{site.url}/api/tickets", headers=headers).status_code


@pytest.mark.parametrize("n", [2, 10])
def test_simultaneous_refreshes_leave_no_token_of_the_family_working(site: Site, n: int) -> None:
    for trial in range(TRIALS):
        login = httpx.post(f"{site.url}/auth/token", json={"email": site.a, "password": PASSWORD})
        assert login.status_code == 200, login.text
        first = login.json()
        responses = asyncio.run(_refresh_at_once(site.url, first["refresh_token"], n))
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200] + [401] * (n - 1), (trial, statuses)
        won = [r.json() for r in responses if r.status_code == 200]
        refresh_tokens = [first["refresh_token"]] + [w["refresh_token"] for w in won]
        access_tokens = [first["access_token"]] + [w["access_token"] for w in won]
        assert [_status(site, t) for t in refresh_tokens] == [401] * len(refresh_tokens), trial
        # an access token belongs to its login: revoking the family ends it at once too
        assert [_access(site, t) for t in access_tokens] == [401] * len(access_tokens), trial
    other = httpx.post(f"{site.url}/auth/token", json={"email": site.a, "password": PASSWORD})
    assert _access(site, other.json()["access_token"]) == 200  # a new login is untouched


def test_a_token_issued_after_its_family_was_revoked_does_not_work(site: Site) -> None:
    """The interleaving the HTTP race produced: a loser revokes the family between the
    winner's claim and the winner's insert. The late token is refused (and revoked with its
    family) and the login's access tokens stop, whatever the order of the statements."""
    registry = build_registry(
        load_project(site.env["PLINTH_DEFINITIONS"]),
        engine_from_url(site.env["PLINTH_DATABASE_URL"]),
    )

    async def interleave() -> tuple[object, object, bool]:
        users = registry.user
        user = await users.select(users.id).where(users.email == site.a).first().run()
        first = await refresh.issue(registry, user_id=user["id"], org_id=None, ttl_seconds=60)
        await refresh.revoke_family(registry, first.family_id)  # the loser, first
        late = await refresh.issue(  # the winner's insert, after it
            registry, user_id=user["id"], org_id=None, ttl_seconds=60, family_id=first.family_id
        )
        active = await refresh.is_family_active(registry, first.family_id)
        return await refresh.rotate(registry, late.token), late.token, active

    rotated, late, active = asyncio.run(interleave())
    assert rotated is None and not active
    assert _status(site, str(late)) == 401
