"""update_many / delete_many, on SQLite and PostgreSQL: every named record gets its row, its
timeline entry and its outbox event, in one unit; one record refused (not readable, a row rule,
a stale version) and nothing at all is written."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from admin.context import AdminContext, current
from admin.crud import TenantCRUD
from runtime.access import Principal
from runtime.database import close_engine, engine_from_url, open_engine
from runtime.definitions import load_project
from runtime.schema import build_registry
from runtime.service import Forbidden, NotFound, RecordService, StaleVersion
from tests.conftest import plinth, plinth_env
from tests.service.lab import Lab, add_organization, open_lab


async def _log(lab: Lab, record_id: str) -> tuple[list[str], list[str]]:
    """(timeline events, outbox events) of one record, oldest first."""
    tl, ob = lab.registry.timeline, lab.registry.outbox
    rid = uuid.UUID(record_id)
    entries = await tl.select(tl.event).where(tl.record_id == rid).order_by(tl.at).run()
    events = await ob.select(ob.event).where(ob.record_id == rid).order_by(ob.created_at).run()
    return [e["event"] for e in entries], [e["event"] for e in events]


async def _state(lab: Lab) -> tuple:
    table, tl, ob = lab.registry.table("Sample"), lab.registry.timeline, lab.registry.outbox
    rows = await table.select(table.id, table.title, table.quantity, table.version).run()
    return (
        sorted((str(r["id"]), r["title"], r["quantity"], r["version"]) for r in rows),
        await tl.count().run(),
        await ob.count().run(),
    )


async def _clerk(lab: Lab) -> Principal:
    """A new user as a clerk of organization A: updates only the Samples it owns, deletes
    none."""
    user = lab.registry.user
    email = f"clerk-{uuid.uuid4().hex[:8]}@example.com"
    rows = await user.insert(user(username=email, email=email, password="x")).returning(user.id)
    roles = frozenset({"clerk"})
    return Principal(tenant_id=lab.a.tenant_id, actor=email, user_id=rows[0]["id"], roles=roles)


async def test_update_many_writes_each_record_with_its_entry_and_event(lab_url: str) -> None:
    async with open_lab(lab_url) as lab:
        s = lab.service
        made = [await s.create(lab.a, "Sample", {"title": f"s{i}"}) for i in range(3)]
        other = await s.create(lab.a, "Sample", {"title": "untouched"})
        ids = [m["id"] for m in made]
        updated = await s.update_many(lab.a, "Sample", ids[::-1], {"quantity": 7})
        assert [(r["id"], r["quantity"], r["version"]) for r in updated] == [
            (i, 7, 2) for i in ids[::-1]
        ]
        for record_id in ids:
            assert await _log(lab, record_id) == (["created", "updated"], ["created", "updated"])
            entry = (await s.timeline(lab.a, "Sample", record_id))[0]
            assert entry["changes"] == {"quantity": {"old": None, "new": 7}}
        assert await _log(lab, other["id"]) == (["created"], ["created"])
        assert (await s.get(lab.a, "Sample", other["id"]))["version"] == 1
        # a record already as asked is returned as it is, and writes nothing
        again = await s.update_many(lab.a, "Sample", ids[:1], {"quantity": 7})
        assert again[0]["version"] == 2
        assert await _log(lab, ids[0]) == (["created", "updated"], ["created", "updated"])


async def test_update_many_refused_for_one_record_writes_nothing(lab_url: str) -> None:
    async with open_lab(lab_url) as lab:
        s = lab.service
        clerk = await _clerk(lab)
        mine = await s.create(clerk, "Sample", {"title": "mine", "owner": str(clerk.user_id)})
        theirs = await s.create(lab.a, "Sample", {"title": "theirs"})
        elsewhere = await s.create(lab.b, "Sample", {"title": "in B"})
        before = await _state(lab)
        with pytest.raises(Forbidden, match="do not allow you to update this Sample"):
            await s.update_many(clerk, "Sample", [mine["id"], theirs["id"]], {"quantity": 1})
        with pytest.raises(NotFound, match=f"Sample {elsewhere['id']} not found"):
            await s.update_many(lab.a, "Sample", [theirs["id"], elsewhere["id"]], {"quantity": 1})
        stale = {mine["id"]: 1, theirs["id"]: 0}
        with pytest.raises(StaleVersion, match="read version 0 \\(it is now at version 1\\)"):
            await s.update_many(lab.a, "Sample", list(stale), {"quantity": 1}, versions=stale)
        assert await _state(lab) == before
        assert (await s.update_many(clerk, "Sample", [mine["id"]], {"quantity": 1}))[0][
            "quantity"
        ] == 1


async def test_delete_many_deletes_each_record_with_its_entry_and_event(lab_url: str) -> None:
    async with open_lab(lab_url) as lab:
        s = lab.service
        made = [await s.create(lab.a, "Sample", {"title": f"s{i}"}) for i in range(3)]
        kept = await s.create(lab.a, "Sample", {"title": "kept"})
        ids = [m["id"] for m in made]
        await s.delete_many(lab.a, "Sample", [*ids, ids[0]])  # a repeated id is deleted once
        assert [r["id"] for r in await s.list(lab.a, "Sample")] == [kept["id"]]
        for record_id in ids:
            assert await _log(lab, record_id) == (["created", "deleted"], ["created", "deleted"])
        assert await _log(lab, kept["id"]) == (["created"], ["created"])


async def test_delete_many_follows_the_references_to_each_record(lab_url: str) -> None:
    """Companies deleted together take their Contacts with them (on_delete: cascade), and
    those Contacts' Samples lose the reference (set_null): every change logged once."""
    async with open_lab(lab_url) as lab:
        s = lab.service
        companies = [await s.create(lab.a, "Company", {"name": n}) for n in ("Acme", "Bolt")]
        contacts = [
            await s.create(lab.a, "Contact", {"name": f"c{i}", "company": c["id"]})
            for i, c in enumerate(companies)
        ]
        samples = [
            await s.create(lab.a, "Sample", {"title": f"s{i}", "contact": c["id"]})
            for i, c in enumerate(contacts)
        ]
        await s.delete_many(lab.a, "Company", [c["id"] for c in companies])
        for gone in [*companies, *contacts]:
            assert await _log(lab, gone["id"]) == (["created", "deleted"], ["created", "deleted"])
        for sample in samples:
            now = await s.get(lab.a, "Sample", sample["id"])
            assert (now["contact"], now["version"]) == (None, 2)
            assert await _log(lab, sample["id"]) == (["created", "updated"], ["created", "updated"])


async def test_delete_many_refused_for_one_record_writes_nothing(lab_url: str) -> None:
    async with open_lab(lab_url) as lab:
        s = lab.service
        clerk = await _clerk(lab)
        mine = await s.create(lab.a, "Sample", {"title": "mine"})
        other = await s.create(lab.a, "Sample", {"title": "other"})
        elsewhere = await s.create(lab.b, "Sample", {"title": "in B"})
        before = await _state(lab)
        with pytest.raises(Forbidden, match="do not allow you to delete this Sample"):
            await s.delete_many(clerk, "Sample", [mine["id"]])
        with pytest.raises(NotFound, match=f"Sample {elsewhere['id']} not found"):
            await s.delete_many(lab.a, "Sample", [mine["id"], elsewhere["id"]])
        with pytest.raises(NotFound, match="Sample not-an-id not found"):
            await s.delete_many(lab.a, "Sample", [mine["id"], "not-an-id"])
        with pytest.raises(StaleVersion, match="reload and retry"):
            await s.delete_many(
                lab.a, "Sample", [mine["id"], other["id"]], versions={other["id"]: 3}
            )
        assert await _state(lab) == before


TREE = """\
entity: Node
module: tree
fields:
  name:   {type: string, required: true}
  parent: {type: reference, to: Node, on_delete: cascade}
"""


async def test_delete_many_of_a_tree_deletes_each_node_once(tmp_path: Path) -> None:
    """A parent and its child named together: the child goes with the parent (cascade) and
    is not deleted a second time."""
    (tmp_path / "definitions").mkdir()
    (tmp_path / "definitions" / "node.yaml").write_text(TREE)
    url = f"sqlite:///{tmp_path / 'tree.sqlite3'}"
    plinth(
        "migrate",
        env=plinth_env(url, tmp_path, PLINTH_DEFINITIONS=str(tmp_path / "definitions")),
        cwd=tmp_path,
    )
    engine = engine_from_url(url)
    registry = build_registry(load_project(tmp_path / "definitions"), engine)
    await open_engine(engine)
    try:
        tenant = await add_organization(registry, "tree")
        owner = Principal(tenant_id=tenant, actor="owner", roles=frozenset({"owner"}))
        s = RecordService(registry)
        root = await s.create(owner, "Node", {"name": "root"})
        child = await s.create(owner, "Node", {"name": "child", "parent": root["id"]})
        leaf = await s.create(owner, "Node", {"name": "leaf", "parent": child["id"]})
        await s.delete_many(owner, "Node", [root["id"], leaf["id"], child["id"]])
        assert await s.list(owner, "Node") == []
        ob = registry.outbox
        events = await ob.select(ob.record_id, ob.event).where(ob.event == "deleted").run()
        assert sorted(str(e["record_id"]) for e in events) == sorted(
            n["id"] for n in (root, child, leaf)
        )
    finally:
        await close_engine(engine)


async def test_the_admins_bulk_delete_is_one_delete_many(
    lab_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TenantCRUD.delete_all (piccolo-admin mounts it without bulk delete today) deletes the
    caller's matching rows in one service call: all of them, or none."""
    async with open_lab(lab_url) as lab:
        s = lab.service
        calls = []
        delete_many = s.delete_many

        async def spy(principal, entity_name, ids, **kwargs):
            calls.append(sorted(str(i) for i in ids))
            await delete_many(principal, entity_name, ids, **kwargs)

        monkeypatch.setattr(s, "delete_many", spy)
        clerk = await _clerk(lab)
        gone = [await s.create(lab.a, "Sample", {"title": "bulk"}) for _ in "ab"]
        kept = await s.create(lab.a, "Sample", {"title": "kept"})
        theirs = await s.create(lab.b, "Sample", {"title": "bulk"})
        crud = TenantCRUD(lab.registry.table("Sample"), allow_bulk_delete=True)
        token = current.set(AdminContext(s, clerk))  # a clerk deletes no Sample
        try:
            refused = await crud.delete_all(None, params={"title": "bulk"})  # type: ignore[arg-type]
        finally:
            current.reset(token)
        assert (refused.status_code, len(await s.list(lab.a, "Sample"))) == (403, 3)
        token = current.set(AdminContext(s, lab.a))
        try:
            response = await crud.delete_all(None, params={"title": "bulk"})  # type: ignore[arg-type]
        finally:
            current.reset(token)
        assert response.status_code == 204
        assert [r["id"] for r in await s.list(lab.a, "Sample")] == [kept["id"]]
        assert [r["id"] for r in await s.list(lab.b, "Sample")] == [theirs["id"]]
        assert calls == [sorted(g["id"] for g in gone)] * 2  # the clerk's call, then A's
        logs = [await _log(lab, g["id"]) for g in gone]
        assert logs == [(["created", "deleted"], ["created", "deleted"])] * 2
