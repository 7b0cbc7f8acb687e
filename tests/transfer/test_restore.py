"""Restore from the timeline: the values as of an entry, through the service (roles,
If-Match, a timeline entry of its own), and a deleted record from its delete entry."""

from __future__ import annotations

import pytest

from runtime.service.errors import Forbidden, NotFound, StaleVersion
from tests.transfer.lab import open_lab

FIRST = {"subject": "Printer on fire", "priority": 2, "amount": "10.50", "due_on": "2026-12-31",
         "meta": {"floor": 3, "tags": ["hw"]}, "done": False}  # fmt: skip


def _values(record: dict) -> dict:
    return {k: record[k] for k in FIRST}


async def test_restore_after_three_edits(db_url: str) -> None:
    async with open_lab(db_url) as lab:
        s = lab.service
        created = await s.create(lab.agent, "Ticket", FIRST)
        rid = created["id"]
        await s.update(lab.agent, "Ticket", rid, {"subject": "Printer smoking", "priority": 3})
        await s.update(lab.agent, "Ticket", rid, {"meta": None, "amount": "99.99"})
        await s.update(lab.agent, "Ticket", rid, {"due_on": None, "done": True})
        entries = await s.timeline(lab.agent, "Ticket", rid)  # newest first
        assert len(entries) == 4
        first_entry, second_entry = entries[-1]["id"], entries[-2]["id"]

        restored = await s.restore(lab.agent, "Ticket", rid, first_entry)
        assert _values(restored) == _values(created)
        assert restored["version"] == 5
        again = await s.timeline(lab.agent, "Ticket", rid)
        assert len(again) == 5 and again[0]["event"] == "updated"

        with pytest.raises(StaleVersion):
            await s.restore(lab.agent, "Ticket", rid, second_entry, version=4)
        middle = await s.restore(lab.agent, "Ticket", rid, second_entry, version=5)
        assert (middle["subject"], middle["priority"], middle["amount"]) == (
            "Printer smoking", 3, created["amount"]
        )  # fmt: skip
        with pytest.raises(NotFound):  # another organization reaches none of it
            await s.restore(lab.other, "Ticket", rid, first_entry)
        with pytest.raises(NotFound):
            await s.restore(lab.agent, "Ticket", rid, "3b0fd6a2-6c0f-4a53-9d8c-6b3b1c3c9e55")


async def test_restore_a_deleted_record_from_its_delete_entry(db_url: str) -> None:
    async with open_lab(db_url) as lab:
        s = lab.service
        created = await s.create(lab.owner, "Ticket", FIRST | {"code": "K-1"})
        rid = created["id"]
        await s.transition(lab.owner, "Ticket", rid, "start")
        await s.update(lab.owner, "Ticket", rid, {"subject": "last words"})
        before = await s.get(lab.owner, "Ticket", rid)
        await s.delete(lab.owner, "Ticket", rid)
        entries = (
            await lab.registry.timeline.select()
            .where(lab.registry.timeline.record_id == rid)
            .order_by(lab.registry.timeline.at)
            .run()
        )
        delete_entry = entries[-1]
        assert delete_entry["event"] == "deleted"
        with pytest.raises(NotFound):
            await s.restore(lab.other, "Ticket", rid, delete_entry["id"])
        with pytest.raises(Forbidden):  # a viewer may read it but not create it
            await s.restore(lab.viewer, "Ticket", rid, delete_entry["id"])
        back = await s.restore(lab.owner, "Ticket", rid, delete_entry["id"])
        assert back["id"] == rid
        for name in (*FIRST, "code", "status"):
            assert back[name] == before[name], name
        assert (await s.get(lab.owner, "Ticket", rid))["subject"] == "last words"
