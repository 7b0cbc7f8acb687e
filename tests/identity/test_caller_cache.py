"""The server keeps what a credential means in memory (runtime/identity/cache.py), and still
refuses at the very next request what was revoked meanwhile — by the CLI (another process),
by SQL, or by this server itself — while the cache is warm. On SQLite nothing is cached, so
the same tests guard the uncached path."""

from __future__ import annotations

import asyncio
import re

import asyncpg
import httpx
import pytest

from tests.conftest import Site, bearer_client

# The NOTIFY that ends a cached entry reaches the server a moment after the change commits:
# with other workers loading the machine, the "next request" can overtake it.
pytestmark = pytest.mark.alone

WARM = 5  # requests before the change: every entry the request needs is cached


def _warm(client: httpx.Client, path: str = "/api/tickets", **kwargs: object) -> None:
    for _ in range(WARM):
        assert client.get(path, **kwargs).status_code == 200  # type: ignore[arg-type]


def _sql(site: Site, statement: str) -> None:
    url = site.env["PLINTH_DATABASE_URL"]

    async def run() -> None:
        if url.startswith("sqlite"):
            import sqlite3

            with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
                db.execute(statement)
            return
        connection = await asyncpg.connect(url)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run())


def _api_token(site: Site) -> tuple[str, str]:
    created = site.plinth(
        "token", "create", "--user", site.a, "--org", site.orgs[site.a], "--name", "cached"
    )
    token = created.stdout.strip().splitlines()[-1]
    found = re.search(r"API token ([0-9a-f-]{36})", created.stderr)
    assert found is not None, created.stderr
    return token, found.group(1)


def test_a_revoked_api_token_is_refused_at_the_next_request(site: Site) -> None:
    token, token_id = _api_token(site)
    with bearer_client(site.url, token) as client:
        _warm(client)
        assert site.plinth("token", "revoke", token_id).returncode == 0
        assert client.get("/api/tickets").status_code == 401


def test_an_api_token_revoked_by_sql_is_refused_at_the_next_request(site: Site) -> None:
    token, token_id = _api_token(site)
    with bearer_client(site.url, token) as client:
        _warm(client)
        _sql(
            site,
            f"UPDATE plinth_api_token SET revoked_at = CURRENT_TIMESTAMP WHERE id = '{token_id}'",
        )
        assert client.get("/api/tickets").status_code == 401


def test_a_logged_out_login_is_refused_at_the_next_request(site: Site) -> None:
    with bearer_client(site.url, site.token(site.a)) as client:
        _warm(client)
        assert client.post("/auth/logout").status_code == 204  # this server revokes the family
        assert client.get("/api/tickets").status_code == 401


def test_a_login_revoked_by_another_process_is_refused_at_the_next_request(site: Site) -> None:
    with bearer_client(site.url, site.token(site.a)) as client:
        _warm(client)
        _sql(
            site,
            'UPDATE plinth_refresh_token SET revoked_at = CURRENT_TIMESTAMP WHERE "user" = '
            f"(SELECT id FROM plinth_user WHERE email = '{site.a}')",
        )
        assert client.get("/api/tickets").status_code == 401


def test_a_removed_membership_and_a_changed_role_count_at_the_next_request(site: Site) -> None:
    org = site.orgs[site.b]
    site.plinth("user", "grant", site.a, "--org", org, "--role", "viewer")
    headers = {"X-Organization": org}
    with bearer_client(site.url, site.token(site.a)) as client:
        _warm(client, "/auth/me", headers=headers)
        assert (
            client.post("/api/tickets", json={"subject": "x"}, headers=headers).status_code == 403
        )

        site.plinth("user", "grant", site.a, "--org", org, "--role", "agent")
        me = client.get("/auth/me", headers=headers).json()
        assert me["roles"] == ["agent", "viewer"]
        made = client.post("/api/tickets", json={"subject": "now allowed"}, headers=headers)
        assert made.status_code == 201, made.text

        site.plinth("user", "revoke", site.a, "--org", org, "--role", "agent")
        _warm(client, "/auth/me", headers=headers)
        site.plinth("user", "revoke", site.a, "--org", org, "--role", "viewer")
        assert client.get("/api/tickets", headers=headers).status_code == 403
        assert client.get("/api/tickets").status_code == 200  # their own organization stays


def test_a_warm_request_does_not_touch_the_identity_tables(site: Site) -> None:
    """With the identity tables locked by another transaction, a cached caller is still
    served (PostgreSQL; SQLite caches nothing)."""
    url = site.env["PLINTH_DATABASE_URL"]
    if url.startswith("sqlite"):
        return
    token, _ = _api_token(site)

    async def run() -> int:
        async with httpx.AsyncClient(
            base_url=site.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as client:
            for _ in range(WARM):
                assert (await client.get("/api/tickets")).status_code == 200
            connection = await asyncpg.connect(url)
            try:
                async with connection.transaction():
                    await connection.execute(
                        "LOCK TABLE plinth_user, plinth_membership, plinth_organization, "
                        "plinth_api_token IN ACCESS EXCLUSIVE MODE"
                    )
                    response = await asyncio.wait_for(client.get("/api/tickets"), 10)
                    return response.status_code
            finally:
                await connection.close()

    assert asyncio.run(run()) == 200
