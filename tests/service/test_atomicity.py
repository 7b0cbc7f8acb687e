"""A failure at any step of a write (row, timeline, outbox) leaves nothing behind."""

from __future__ import annotations

import pytest

from runtime.service import outbox, timeline, writes
from tests.service.lab import Lab, open_lab

STEPS = ("row", "timeline", "outbox")
VERBS = ("create", "update", "transition", "delete")


class Injected(RuntimeError):
    pass


class FailingQuery:
    """Stands in for a Piccolo write query: chains like one, fails when run."""

    def __getattr__(self, name: str):
        return lambda *args, **kwargs: self

    async def run(self) -> None:
        raise Injected("injected failure of the row statement")


def _break(step: str, lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the database refuse one step's statement (a NOT NULL column left empty)."""

    def spoiled(builder, column: str):
        return lambda **kwargs: builder(**kwargs) | {column: None}

    if step == "timeline":
        monkeypatch.setattr(timeline, "entry", spoiled(timeline.entry, "entity"))
    elif step == "outbox":
        monkeypatch.setattr(outbox, "event", spoiled(outbox.event, "event"))
    else:  # the row itself: its INSERT, UPDATE or DELETE fails
        stored = writes._stored
        monkeypatch.setattr(writes, "_stored", lambda e, row: stored(e, row) | {"id": None})
        table = lab.registry.table("Sample")
        for method in ("update", "delete"):
            monkeypatch.setattr(table, method, lambda *a, **k: FailingQuery())


async def _state(lab: Lab) -> tuple:
    table, tl, ob = lab.registry.table("Sample"), lab.registry.timeline, lab.registry.outbox
    rows = await table.select(table.id, table.title, table.stage, table.version).run()
    return (
        sorted((str(r["id"]), r["title"], r["stage"], r["version"]) for r in rows),
        await tl.count().run(),
        await ob.count().run(),
    )


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("verb", VERBS)
async def test_a_failed_step_leaves_nothing(
    lab_url: str, verb: str, step: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with open_lab(lab_url) as lab:
        s = lab.service
        existing = await s.create(lab.a, "Sample", {"title": "before"})
        before = await _state(lab)
        _break(step, lab, monkeypatch)
        call = {
            "create": lambda: s.create(lab.a, "Sample", {"title": "new"}),
            "update": lambda: s.update(lab.a, "Sample", existing["id"], {"title": "after"}),
            "transition": lambda: s.transition(lab.a, "Sample", existing["id"], "submit"),
            "delete": lambda: s.delete(lab.a, "Sample", existing["id"]),
        }[verb]
        with pytest.raises(Exception, match=r"(?i)null|injected") as caught:
            await call()
        assert not isinstance(caught.value, AssertionError)
        monkeypatch.undo()
        assert await _state(lab) == before
