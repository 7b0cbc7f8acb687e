"""A write without If-Match never answers 412: 50 concurrent PATCHes of one record over HTTP
all apply, one after the other (no lost update); with If-Match the precondition stays exact.
On PostgreSQL the row is locked for the write; SQLite write transactions serialize."""

from __future__ import annotations

import asyncio

import httpx

from tests.conftest import Site

WRITERS = 50


def _patch_all(site: Site, record_id: str, if_match: str | None) -> list[httpx.Response]:
    with site.client(site.a) as client:
        token = client.headers["Authorization"]
    headers = {"Authorization": token} | ({"If-Match": if_match} if if_match else {})

    async def patch_all() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=site.url, timeout=120) as http:
            return await asyncio.gather(
                *(
                    http.patch(
                        f"/api/tickets/{record_id}",
                        json={"subject": f"writer {i}", "priority": i % 5 + 1},
                        headers=headers,
                    )
                    for i in range(WRITERS)
                )
            )

    return asyncio.run(patch_all())


def test_fifty_concurrent_patches_without_if_match_all_apply(site: Site) -> None:
    with site.client(site.a) as client:
        ticket = client.post("/api/tickets", json={"subject": "start"}).json()
    responses = _patch_all(site, ticket["id"], None)
    assert sorted(r.status_code for r in responses) == [200] * WRITERS, [
        r.text for r in responses if r.status_code != 200
    ][:3]
    # each writer saw the one before it: the versions they got back are 2..51, each once
    assert sorted(int(r.headers["etag"][3:-1]) for r in responses) == list(range(2, 52))
    with site.client(site.a) as client:
        final = client.get(f"/api/tickets/{ticket['id']}").json()
        timeline = client.get(f"/api/tickets/{ticket['id']}/timeline?limit=500").json()["data"]
    assert final["version"] == WRITERS + 1
    assert [e["event"] for e in timeline].count("updated") == WRITERS
    assert len(timeline) == WRITERS + 1  # and the "created"
    last = max(responses, key=lambda r: int(r.headers["etag"][3:-1])).json()
    assert (final["subject"], final["priority"]) == (last["subject"], last["priority"])


def test_fifty_concurrent_patches_with_one_if_match_one_wins(site: Site) -> None:
    with site.client(site.a) as client:
        ticket = client.post("/api/tickets", json={"subject": "start"}).json()
    responses = _patch_all(site, ticket["id"], 'W/"1"')
    assert sorted(r.status_code for r in responses) == [200] + [412] * (WRITERS - 1)
    winner = next(r for r in responses if r.status_code == 200).json()
    with site.client(site.a) as client:
        final = client.get(f"/api/tickets/{ticket['id']}").json()
        timeline = client.get(f"/api/tickets/{ticket['id']}/timeline").json()["data"]
    assert (final["version"], final["subject"]) == (2, winner["subject"])
    assert [e["event"] for e in timeline] == ["updated", "created"]
