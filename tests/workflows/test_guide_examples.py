"""The workflows guide's change and transition examples, run as written, on SQLite and
PostgreSQL: `urgent_note` (created, `when`, create) and `stamp_closed` (transition, update)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from tests.workflows.guide import write_project
from tests.workflows.lab import lab


async def test_the_guide_examples_run_as_written(database_url: str, tmp_path: Path) -> None:
    definitions = write_project(tmp_path / "definitions", ["urgent_note", "stamp_closed"])
    async with lab(database_url, tmp_path, definitions) as lab_:
        service, owner = lab_.service, lab_.owner
        urgent = await service.create(owner, "Ticket", {"subject": "Refund", "priority": 5})
        calm = await service.create(owner, "Ticket", {"subject": "Hello", "priority": 2})
        await lab_.drain()
        notes = await service.list(owner, "Note")
        assert [(n["ticket"], n["body"]) for n in notes] == [(urgent["id"], "Urgent: Refund")]
        before = dt.datetime.now(dt.UTC)
        await service.transition(owner, "Ticket", calm["id"], "close")
        await lab_.drain()
        closed = await service.get(owner, "Ticket", calm["id"])
        assert closed["status"] == "closed" and closed["version"] == 3
        assert dt.datetime.fromisoformat(closed["closed_at"]) >= before - dt.timedelta(seconds=1)
        entry = (await service.timeline(owner, "Ticket", calm["id"]))[0]
        assert entry["actor"] == "workflow:stamp_closed"
        assert list(entry["changes"]) == ["closed_at"]
        runs = {(r["workflow"], r["status"]) for r in await lab_.runs()}
        assert runs == {
            ("urgent_note", "succeeded"),
            ("urgent_note", "skipped"),
            ("stamp_closed", "succeeded"),
        }
