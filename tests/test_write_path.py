"""One write = one row + one timeline entry + one outbox event, in one transaction."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import pytest

from runtime.access import Principal
from runtime.database import close_engine, engine_from_url, open_engine
from runtime.definitions import load_project
from runtime.schema import build_registry
from runtime.service import RecordService
from runtime.service import outbox as outbox_module
from tests.conftest import DEFINITIONS, Site, plinth, plinth_env


async def _counts(registry) -> tuple[int, int, int]:
    return (
        await registry.table("Ticket").count().run(),
        await registry.timeline.count().run(),
        await registry.outbox.count().run(),
    )


def test_post_writes_one_row_one_timeline_entry_one_outbox_event(site: Site) -> None:
    with site.client(site.a) as client:
        created = client.post("/api/tickets", json={"subject": "Printer", "priority": 2})
        assert created.status_code == 201
        ticket = created.json()
        assert created.headers["location"] == f"/api/tickets/{ticket['id']}"
        assert created.headers["etag"] == 'W/"1"'
        timeline = client.get(f"/api/tickets/{ticket['id']}/timeline").json()["data"]

    async def inspect():
        engine = engine_from_url(site.env["PLINTH_DATABASE_URL"])
        registry = build_registry(load_project(DEFINITIONS), engine)
        await open_engine(engine)
        try:
            table, outbox = registry.table("Ticket"), registry.outbox
            tenant = uuid.UUID(ticket["tenant_id"])
            rows = await table.select().where(table.tenant_id == tenant).run()
            events = await outbox.select().where(outbox.tenant_id == tenant).run()
            return rows, events
        finally:
            await close_engine(engine)

    rows, events = asyncio.run(inspect())
    assert [str(r["id"]) for r in rows] == [ticket["id"]]
    assert str(rows[0]["tenant_id"]) == ticket["tenant_id"]
    assert [e["event"] for e in events] == ["created"]
    assert str(events[0]["record_id"]) == ticket["id"]
    assert json.loads(events[0]["payload"])["record"]["subject"] == "Printer"
    assert len(timeline) == 1
    assert timeline[0]["actor"] == site.a
    assert timeline[0]["event"] == "created"
    assert timeline[0]["changes"]["subject"] == {"old": None, "new": "Printer"}


def test_patch_and_delete_honour_if_match(site: Site) -> None:
    with site.client(site.a) as client:
        ticket = client.post("/api/tickets", json={"subject": "v1"}).json()
        path = f"/api/tickets/{ticket['id']}"
        ok = client.patch(path, json={"subject": "v2"}, headers={"If-Match": 'W/"1"'})
        assert ok.status_code == 200 and ok.headers["etag"] == 'W/"2"'
        stale = client.patch(path, json={"subject": "lost"}, headers={"If-Match": 'W/"1"'})
        assert stale.status_code == 412
        assert stale.json()["title"] == "Precondition failed"
        assert client.delete(path, headers={"If-Match": '"1"'}).status_code == 412
        assert client.get(path).json()["subject"] == "v2"
        assert client.delete(path, headers={"If-Match": '"2"'}).status_code == 204
        assert client.get(path).status_code == 404


@pytest.fixture
def migrated(database_url: str, tmp_path: Path) -> str:
    plinth("migrate", env=plinth_env(database_url, tmp_path), cwd=tmp_path)
    return database_url


async def test_a_failure_after_the_row_insert_leaves_nothing(
    migrated: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = engine_from_url(migrated)
    registry = build_registry(load_project(DEFINITIONS), engine)
    await open_engine(engine)
    try:
        org = registry.organization
        tenant = (await org.insert(org(slug="acme", name="Acme")).returning(org.id).run())[0]["id"]
        service = RecordService(registry)
        principal = Principal(tenant_id=tenant, actor="tester", roles=frozenset({"owner"}))

        def broken_outbox(**kwargs):
            raise RuntimeError("outbox is down")

        monkeypatch.setattr(outbox_module, "event", broken_outbox)
        with pytest.raises(RuntimeError, match="outbox is down"):
            await service.create(principal, "Ticket", {"subject": "never"})
        assert await _counts(registry) == (0, 0, 0)

        monkeypatch.undo()
        created = await service.create(principal, "Ticket", {"subject": "kept"})
        assert await _counts(registry) == (1, 1, 1)

        monkeypatch.setattr(outbox_module, "event", broken_outbox)
        with pytest.raises(RuntimeError):
            await service.update(principal, "Ticket", created["id"], {"subject": "changed"})
        with pytest.raises(RuntimeError):
            await service.delete(principal, "Ticket", created["id"])
        assert await _counts(registry) == (1, 1, 1)
        row = await registry.table("Ticket").select().first().run()
        assert (row["subject"], row["version"]) == ("kept", 1)
    finally:
        await close_engine(engine)
