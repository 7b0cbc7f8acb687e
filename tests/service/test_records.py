"""The record service's rules, on SQLite and PostgreSQL: state machines, on_delete, unique
values, read-only fields, timeline and outbox per change."""

from __future__ import annotations

import json
import uuid

import pytest

from runtime.access import Principal
from runtime.service import Conflict, Forbidden, UniqueConflict, ValidationFailed
from tests.service.lab import Lab, open_lab


async def _events(lab: Lab, record_id: str) -> list[tuple[str, str | None]]:
    outbox = lab.registry.outbox
    rows = (
        await outbox.select(outbox.event, outbox.transition, outbox.created_at)
        .where(outbox.record_id == record_id)
        .order_by(outbox.created_at)
        .run()
    )
    return [(r["event"], r["transition"]) for r in rows]


async def _clerk(lab: Lab, email: str) -> tuple[uuid.UUID, Principal]:
    """A new user, and that user as a clerk of organization A."""
    user = lab.registry.user
    rows = await user.insert(user(username=email, email=email, password="x")).returning(user.id)
    uid = rows[0]["id"]
    roles = frozenset({"clerk"})
    return uid, Principal(tenant_id=lab.a.tenant_id, actor="clerk", user_id=uid, roles=roles)


async def test_a_state_field_moves_only_through_allowed_transitions(lab_url: str) -> None:
    async with open_lab(lab_url) as lab:
        s = lab.service
        sample = await s.create(lab.a, "Sample", {"title": "t"})
        assert sample["stage"] == "draft"
        with pytest.raises(ValidationFailed, match="changes only through a transition"):
            await s.update(lab.a, "Sample", sample["id"], {"stage": "done"})
        with pytest.raises(Conflict, match="'approve' goes from 'review' to 'done'"):
            await s.transition(lab.a, "Sample", sample["id"], "approve")
        moved = await s.transition(lab.a, "Sample", sample["id"], "submit", version=1)
        assert (moved["stage"], moved["version"]) == ("review", 2)
        entries = await s.timeline(lab.a, "Sample", sample["id"])
        assert entries[0]["event"] == "transition" and entries[0]["transition"] == "submit"
        assert entries[0]["changes"] == {"stage": {"old": "draft", "new": "review"}}
        assert await _events(lab, sample["id"]) == [("created", None), ("transition", "submit")]


async def test_a_record_sent_back_whole_may_repeat_what_the_caller_cannot_write(
    lab_url: str,
) -> None:
    """The admin's form (and a PUT-style client) sends every field: an unchanged state or
    read-only field is no attempt to write it; a changed one still is."""
    async with open_lab(lab_url) as lab:
        s = lab.service
        system = Principal.system(lab.a.tenant_id, "workflow:test")
        sample = await s.create(system, "Sample", {"title": "t", "locked": "x"})
        whole = {"title": "t2", "stage": "draft", "locked": "x", "quantity": None}
        updated = await s.update(lab.a, "Sample", sample["id"], whole)
        assert (updated["title"], updated["stage"], updated["locked"]) == ("t2", "draft", "x")
        entry = (await s.timeline(lab.a, "Sample", sample["id"]))[0]
        assert entry["changes"] == {"title": {"old": "t", "new": "t2"}}
        with pytest.raises(ValidationFailed, match="changes only through a transition"):
            await s.update(lab.a, "Sample", sample["id"], {**whole, "stage": "done"})
        with pytest.raises(ValidationFailed, match="locked: this field is read-only"):
            await s.update(lab.a, "Sample", sample["id"], {**whole, "locked": "y"})


async def test_a_field_outside_the_write_fields_may_be_repeated_unchanged(lab_url: str) -> None:
    async with open_lab(lab_url) as lab:
        uid, clerk = await _clerk(lab, "w@x.test")
        sample = await lab.service.create(lab.a, "Sample", {"title": "t", "code": "AB-1"})
        sample = await lab.service.update(lab.a, "Sample", sample["id"], {"owner": str(uid)})
        whole = {"title": "t2", "code": "AB-1", "owner": str(uid)}
        assert (await lab.service.update(clerk, "Sample", sample["id"], whole))["title"] == "t2"
        with pytest.raises(Forbidden, match="you may not write the field 'code'"):
            await lab.service.update(clerk, "Sample", sample["id"], {**whole, "code": "AB-2"})


async def test_a_role_grants_only_its_transitions(lab_url: str) -> None:
    async with open_lab(lab_url) as lab:
        clerk = Principal(tenant_id=lab.a.tenant_id, actor="clerk", roles=frozenset({"clerk"}))
        sample = await lab.service.create(lab.a, "Sample", {"title": "t"})
        await lab.service.transition(clerk, "Sample", sample["id"], "submit")
        with pytest.raises(Forbidden, match="transition 'approve'"):
            await lab.service.transition(clerk, "Sample", sample["id"], "approve")


async def test_on_delete_cascade_set_null_and_restrict(lab_url: str) -> None:
    async with open_lab(lab_url) as lab:
        s, a = lab.service, lab.a
        region = await s.create(a, "Region", {"name": "North"})
        company = await s.create(a, "Company", {"name": "Acme", "region": region["id"]})
        contact = await s.create(a, "Contact", {"name": "Ann", "company": company["id"]})
        sample = await s.create(a, "Sample", {"title": "t", "contact": contact["id"]})

        with pytest.raises(Conflict, match=r"1 Company record\(s\) refer to it through 'region'"):
            await s.delete(a, "Region", region["id"])
        await s.delete(a, "Company", company["id"])  # cascades to Contact, which nulls Sample

        kept = await s.get(a, "Sample", sample["id"])
        assert (kept["contact"], kept["version"]) == (None, 2)
        assert await s.count(a, "Contact") == 0
        assert await _events(lab, contact["id"]) == [("created", None), ("deleted", None)]
        assert await _events(lab, sample["id"]) == [("created", None), ("updated", None)]
        entries = await s.timeline(a, "Sample", sample["id"])
        assert entries[0]["changes"] == {"contact": {"old": contact["id"], "new": None}}
        await s.delete(a, "Region", region["id"])  # nothing refers to it any more


async def test_unique_values_are_per_organization(lab_url: str) -> None:
    async with open_lab(lab_url) as lab:
        s = lab.service
        await s.create(lab.a, "Sample", {"title": "one", "code": "AB-1"})
        with pytest.raises(UniqueConflict) as caught:
            await s.create(lab.a, "Sample", {"title": "two", "code": "AB-1"})
        assert [(e.field, e.code, e.message) for e in caught.value.errors] == [
            ("code", "unique", "another Sample has code = 'AB-1'")
        ]
        await s.create(lab.b, "Sample", {"title": "other org", "code": "AB-1"})


async def test_read_only_and_hidden_fields(lab_url: str) -> None:
    async with open_lab(lab_url) as lab:
        s = lab.service
        with pytest.raises(ValidationFailed, match="locked: this field is read-only"):
            await s.create(lab.a, "Sample", {"title": "t", "locked": "x"})
        system = Principal.system(lab.a.tenant_id, "workflow:test")
        sample = await s.create(system, "Sample", {"title": "t", "locked": "x", "secret": "s3"})
        assert sample["locked"] == "x" and "secret" not in sample
        await s.update(lab.a, "Sample", sample["id"], {"secret": "changed"})
        entry = (await s.timeline(lab.a, "Sample", sample["id"]))[0]
        assert entry["changes"] == {}
        outbox = lab.registry.outbox
        rows = await outbox.select(outbox.payload).where(outbox.record_id == sample["id"]).run()
        # the outbox keeps hidden values for the workflows (it is never served)
        assert "s3" in json.dumps([r["payload"] for r in rows])
        timeline = lab.registry.timeline
        raw = (
            await timeline.select(timeline.changes).where(timeline.record_id == sample["id"]).run()
        )
        assert "changed" not in json.dumps([r["changes"] for r in raw])
        assert "s3" not in json.dumps([r["changes"] for r in raw])


async def test_row_rules_limit_updates(lab_url: str) -> None:
    async with open_lab(lab_url) as lab:
        uid, clerk = await _clerk(lab, "c@x.test")
        mine = await lab.service.create(clerk, "Sample", {"title": "mine", "owner": str(uid)})
        theirs = await lab.service.create(lab.a, "Sample", {"title": "theirs"})
        await lab.service.update(clerk, "Sample", mine["id"], {"title": "renamed"})
        with pytest.raises(Forbidden, match="update this Sample"):
            await lab.service.update(clerk, "Sample", theirs["id"], {"title": "nope"})
        with pytest.raises(Forbidden, match="update this Sample"):  # not after the change either
            await lab.service.update(clerk, "Sample", mine["id"], {"owner": None})
        with pytest.raises(Forbidden, match="may not write the field 'amount'"):
            await lab.service.update(clerk, "Sample", mine["id"], {"amount": "3.50"})
