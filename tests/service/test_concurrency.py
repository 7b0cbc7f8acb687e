"""Concurrency on PostgreSQL. Of 50 writers that all name version 1, exactly one wins and 49
are told to reload; 50 writers that name no version (a PATCH without If-Match, a workflow's
update) lock the row in turn and all apply. No lost update either way. Over HTTP, on both
databases: tests/test_unconditional_writes.py."""

from __future__ import annotations

import asyncio

import pytest

from runtime.service import Conflict, NotFound, StaleVersion
from tests.service.lab import open_lab

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


async def test_fifty_concurrent_updates_without_a_version_all_apply(lab_pg_url: str) -> None:
    async with open_lab(lab_pg_url) as lab:
        s = lab.service
        sample = await s.create(lab.a, "Sample", {"title": "start", "quantity": 0})
        results = await asyncio.gather(
            *(
                s.update(lab.a, "Sample", sample["id"], {"title": f"writer {i}", "quantity": i})
                for i in range(WRITERS)
            )
        )
        assert sorted(r["version"] for r in results) == list(range(2, WRITERS + 2))
        final = await s.get(lab.a, "Sample", sample["id"])
        assert final["version"] == WRITERS + 1
        assert final["title"] == f"writer {final['quantity']}"
        entries = await s.timeline(lab.a, "Sample", sample["id"])
        assert [e["event"] for e in entries] == ["updated"] * WRITERS + ["created"]


async def test_concurrent_transitions_and_deletes_without_a_version(lab_pg_url: str) -> None:
    """The losers are told what is true now (no longer a source state, gone), never 412."""
    async with open_lab(lab_pg_url) as lab:
        s = lab.service
        sample = await s.create(lab.a, "Sample", {"title": "t"})
        moved = await asyncio.gather(
            *(s.transition(lab.a, "Sample", sample["id"], "submit") for _ in range(WRITERS)),
            return_exceptions=True,
        )
        assert sum(isinstance(r, dict) for r in moved) == 1
        assert all(isinstance(r, Conflict) for r in moved if not isinstance(r, dict)), moved
        deleted = await asyncio.gather(
            *(s.delete(lab.a, "Sample", sample["id"]) for _ in range(WRITERS)),
            return_exceptions=True,
        )
        assert sum(r is None for r in deleted) == 1
        assert all(isinstance(r, NotFound) for r in deleted if r is not None), deleted
