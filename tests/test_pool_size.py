"""PLINTH_DB_POOL_SIZE bounds each of a process's two PostgreSQL pools (the platform's and
the tenant wall's), under more concurrent requests than that."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg
import httpx
import pytest

from runtime.identity.cache import LISTENER_NAME as IDENTITY_LISTENER
from runtime.live import LISTENER_NAME as SCHEMA_LISTENER
from runtime.settings import SettingsError, read_settings
from runtime.workflows.wake import LISTENER_NAME
from tests.conftest import PG_ADMIN_DSN, Site, add_tenants, prepare_site, start_server, stop


def _connections(database_url: str) -> int:
    """Connections open to the database, counted from the maintenance database."""

    async def count() -> int:
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            name = database_url.rsplit("/", 1)[1]
            query = (
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 "
                "AND application_name <> ALL($2::text[])"
            )
            listeners = [LISTENER_NAME, SCHEMA_LISTENER, IDENTITY_LISTENER]
            return await conn.fetchval(query, name, listeners)
        finally:
            await conn.close()

    return asyncio.run(count())


@pytest.mark.postgres
def test_a_served_process_keeps_to_its_pool_size(postgres_url: str, tmp_path: Path) -> None:
    env = prepare_site(postgres_url, tmp_path, PLINTH_DB_POOL_SIZE="2")
    url, server = start_server(env, tmp_path)
    try:
        site = add_tenants(postgres_url, Site(url=url, env=env, workdir=tmp_path))
        headers = {"Authorization": f"Bearer {site.token(site.a)}"}  # one login for all

        def create_and_read(i: int) -> tuple[int, int]:
            with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
                made = client.post("/api/tickets", json={"subject": f"burst {i}"})
                read = client.get(f"/api/tickets/{made.json()['id']}")
                return made.status_code, read.status_code

        with ThreadPoolExecutor(max_workers=16) as threads:
            answers = list(threads.map(create_and_read, range(64)))
        assert answers == [(201, 200)] * 64
        assert 2 <= _connections(postgres_url) <= 4  # two pools of 2 (and the listeners)
        with site.client(site.a) as client:
            count = client.get("/api/tickets", params={"count": "true"}).json()["meta"]["count"]
        assert count == 64
    finally:
        stop(server)


@pytest.mark.parametrize("value", ["0", "-3", "many", "2.5"])
def test_a_pool_size_that_is_no_whole_number_is_refused(value: str) -> None:
    env = {"PLINTH_DATABASE_URL": "sqlite:///x.db", "PLINTH_SECRET_KEY": "k" * 40}
    with pytest.raises(SettingsError, match=f"PLINTH_DB_POOL_SIZE='{value}': expected a whole"):
        read_settings({**env, "PLINTH_DB_POOL_SIZE": value})
    assert read_settings(env).pool_size == 20
    assert read_settings({**env, "PLINTH_DB_POOL_SIZE": "5"}).pool_size == 5
