"""Optimistic concurrency on PostgreSQL: of 50 writers that all read version 1, exactly one
wins and 49 are told to reload — no lost update."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from runtime.service import StaleVersion
from tests.conftest import Site, add_tenants, prepare_site, start_server, stop
from tests.service.lab import LAB, open_lab

pytestmark = pytest.mark.postgres
WRITERS = 50


async def _race(calls) -> tuple[int, int]:
    results = await asyncio.gather(*calls, return_exceptions=True)
    unexpected = [
        r for r in results if isinstance(r, Exception) and not isinstance(r, StaleVersion)
    ]
    assert not unexpected, unexpected[:3]
    stale = sum(isinstance(r, StaleVersion) for r in results)
    return len(results) - stale, stale


async def test_fifty_concurrent_updates_of_version_1(lab_pg_url: str) -> None:
    async with open_lab(lab_pg_url) as lab:
        s = lab.service
        sample = await s.create(lab.a, "Sample", {"title": "start", "quantity": 0})
        won, stale = await _race(
            s.update(
                lab.a, "Sample", sample["id"], {"title": f"writer {i}", "quantity": i}, version=1
            )
            for i in range(WRITERS)
        )
        assert (won, stale) == (1, WRITERS - 1)
        final = await s.get(lab.a, "Sample", sample["id"])
        assert final["version"] == 2
        assert final["title"] == f"writer {final['quantity']}"  # one writer's whole change
        entries = await s.timeline(lab.a, "Sample", sample["id"])
        assert [e["event"] for e in entries] == ["updated", "created"]


async def test_fifty_concurrent_transitions_of_version_1(lab_pg_url: str) -> None:
    async with open_lab(lab_pg_url) as lab:
        s = lab.service
        sample = await s.create(lab.a, "Sample", {"title": "t"})
        won, stale = await _race(
            s.transition(lab.a, "Sample", sample["id"], "submit", version=1) for _ in range(WRITERS)
        )
        assert (won, stale) == (1, WRITERS - 1)
        entries = await s.timeline(lab.a, "Sample", sample["id"])
        assert [(e["event"], e["transition"]) for e in entries] == [
            ("transition", "submit"),
            ("created", None),
        ]


def test_fifty_concurrent_patches_with_if_match(postgres_url: str, tmp_path: Path) -> None:
    env = prepare_site(postgres_url, tmp_path, PLINTH_DEFINITIONS=str(LAB))
    url, server = start_server(env, tmp_path)
    try:
        site = add_tenants(postgres_url, Site(url=url, env=env, workdir=tmp_path))
        with site.client(site.a) as client:
            sample = client.post("/api/samples", json={"title": "start"}).json()
            token = client.headers["Authorization"]

        async def patch_all() -> list[int]:
            async with httpx.AsyncClient(base_url=url, timeout=60) as http:
                responses = await asyncio.gather(
                    *(
                        http.patch(
                            f"/api/samples/{sample['id']}",
                            json={"title": f"writer {i}"},
                            headers={"Authorization": token, "If-Match": 'W/"1"'},
                        )
                        for i in range(WRITERS)
                    )
                )
            return sorted(r.status_code for r in responses)

        statuses = asyncio.run(patch_all())
        assert statuses == [200] + [412] * (WRITERS - 1)
        with site.client(site.a) as client:
            assert client.get(f"/api/samples/{sample['id']}").json()["version"] == 2
    finally:
        stop(server)
