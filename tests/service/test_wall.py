"""PostgreSQL's second wall: row-level security under the plinth_app role, and an
append-only timeline — proven with the service's own tenant filter bypassed."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from runtime.service import scope, tenancy, writes
from runtime.service._rows import insert_at_once
from runtime.service.errors import UniqueConflict
from runtime.service.tenancy import fetch_at_once, select_at_once, tenant_wall
from tests.service.lab import open_lab

pytestmark = pytest.mark.postgres


async def test_an_unfiltered_select_inside_the_wall_sees_one_tenant(lab_pg_url: str) -> None:
    async with open_lab(lab_pg_url) as lab:
        await lab.service.create(lab.a, "Sample", {"title": "a-1"})
        await lab.service.create(lab.a, "Sample", {"title": "a-2"})
        await lab.service.create(lab.b, "Sample", {"title": "b-1"})
        table = lab.registry.table("Sample")
        engine = lab.registry.engine

        assert await table.count().run() == 3  # outside the wall: the connection's own role
        async with tenant_wall(engine, lab.a):
            rows = await table.select(table.title, table.tenant_id).run()  # no tenant filter
            timeline = await lab.registry.timeline.count().run()
            outbox = await lab.registry.outbox.count().run()
        assert sorted(r["title"] for r in rows) == ["a-1", "a-2"]
        assert {r["tenant_id"] for r in rows} == {lab.a.tenant_id}
        assert (timeline, outbox) == (2, 2)


async def test_the_wall_refuses_writes_into_another_tenant(lab_pg_url: str) -> None:
    async with open_lab(lab_pg_url) as lab:
        table = lab.registry.table("Sample")
        with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError):
            async with tenant_wall(lab.registry.engine, lab.a):
                await table.insert(table(title="smuggled", tenant_id=lab.b.tenant_id)).run()
        theirs = await lab.service.create(lab.b, "Sample", {"title": "b-only"})
        async with tenant_wall(lab.registry.engine, lab.a):
            await table.update({table.title: "hijacked"}).where(table.id == theirs["id"]).run()
            await table.delete().where(table.id == theirs["id"]).run()
        assert (await lab.service.get(lab.b, "Sample", theirs["id"]))["title"] == "b-only"


async def test_the_role_does_not_leak_to_the_next_use_of_the_connection(lab_pg_url: str) -> None:
    async with open_lab(lab_pg_url) as lab:
        engine = lab.registry.engine
        async with tenant_wall(engine, lab.a):
            inside = await engine._run_in_pool(
                "SELECT current_user AS u, current_setting('plinth.tenant', true) AS t"
            )
        async with engine.transaction():
            after = await lab.registry.user.raw(
                "SELECT current_user AS u, current_setting('plinth.tenant', true) AS t"
            ).run()
        assert inside[0]["u"] != "plinth_app"  # the pool connection is not the wall's
        assert after[0]["u"] != "plinth_app" and not after[0]["t"]


async def test_timeline_rows_cannot_be_updated_or_deleted(lab_pg_url: str) -> None:
    async with open_lab(lab_pg_url) as lab:
        sample = await lab.service.create(lab.a, "Sample", {"title": "t"})
        timeline = lab.registry.timeline
        for query in (
            timeline.update({timeline.actor: "forged"}).where(timeline.record_id == sample["id"]),
            timeline.delete().where(timeline.record_id == sample["id"]),
            timeline.raw(f"TRUNCATE {timeline._meta.get_formatted_tablename()}"),
        ):
            with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError, match="append-only"):
                await query.run()
        entries = await lab.service.timeline(lab.a, "Sample", sample["id"])
        assert [e["actor"] for e in entries] == ["owner-0"]


async def test_a_single_statement_create_is_inside_the_wall(lab_pg_url: str) -> None:
    """The one-statement create (row + timeline + outbox, the tenant set by its first CTE)
    is held to the policies like any walled write: a row of another tenant is refused and
    nothing of the statement stays."""
    async with open_lab(lab_pg_url) as lab:
        service, engine = lab.service, lab.registry.engine
        entity = service.entity("Sample")
        mine = await service.create(lab.a, "Sample", {"title": "mine"})
        row = {"id": uuid.uuid4(), "tenant_id": lab.b.tenant_id, "title": "smuggled", "version": 1}
        rows = [(lab.registry.table(entity), row)]
        rows += service._change_rows(lab.a, entity, row["id"], "created", {}, row, None)
        counts = [await t.count().run() for t in (lab.registry.table(entity), *_logs(lab))]
        with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError, match="row-level"):
            await insert_at_once(engine, lab.a.tenant_id, rows)
        assert [await t.count().run() for t in (lab.registry.table(entity), *_logs(lab))] == counts
        async with tenant_wall(engine, lab.a):
            assert [r["title"] for r in await service.list(lab.a, "Sample")] == ["mine"]
        assert (await service.get(lab.a, "Sample", mine["id"]))["title"] == "mine"


async def test_creates_take_one_statement_only_when_nothing_must_be_read_first(
    lab_pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with open_lab(lab_pg_url) as lab:
        at_once = []

        async def spy(engine, tenant, rows):
            first = rows[0][1]
            at_once.append(first.get("title") or first.get("name"))
            await insert_at_once(engine, tenant, rows)

        monkeypatch.setattr(writes, "insert_at_once", spy)
        s = lab.service
        await s.create(lab.a, "Sample", {"title": "plain"})
        await s.create(lab.a, "Sample", {"title": "unique", "code": "AB-1"})  # looks for AB-1
        company = await s.create(lab.a, "Company", {"name": "Acme"})
        contact = await s.create(lab.a, "Contact", {"name": "Ann", "company": company["id"]})
        await s.create(lab.a, "Sample", {"title": "referring", "contact": contact["id"]})
        async with lab.registry.engine.transaction():  # the caller's transaction: a savepoint
            await s.create(lab.a, "Sample", {"title": "nested"})
        assert at_once == ["plain", "Acme"]
        titles = [r["title"] for r in await s.list(lab.a, "Sample")]
        assert sorted(titles) == ["nested", "plain", "referring", "unique"]
        with pytest.raises(UniqueConflict, match="another Sample has code = 'AB-1'"):
            await s.create(lab.a, "Sample", {"title": "again", "code": "AB-1"})


async def test_a_single_statement_read_is_inside_the_wall(
    lab_pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read outside any transaction goes as one statement that sets the tenant itself:
    with no tenant filter of the service's, it still sees one tenant, and the setting does
    not outlive the statement on the pooled connection."""
    async with open_lab(lab_pg_url) as lab:
        mine = await lab.service.create(lab.a, "Sample", {"title": "a-1"})
        await lab.service.create(lab.b, "Sample", {"title": "b-1"})
        table, engine = lab.registry.table("Sample"), lab.registry.engine
        for tenant, title in ((lab.a.tenant_id, "a-1"), (lab.b.tenant_id, "b-1")):
            rows = await select_at_once(engine, tenant, table.select(table.title))  # unfiltered
            assert rows == [{"title": title}]
        pool = await engine.role_pool()
        async with pool.acquire() as connection:
            assert not await connection.fetchval("SELECT current_setting('plinth.tenant', true)")

        taken = []

        async def spy(engine, tenant, sql, args):
            taken.append(tenant)
            return await fetch_at_once(engine, tenant, sql, args)

        for module in (scope, tenancy):  # a statement kept or compiled anew
            monkeypatch.setattr(module, "fetch_at_once", spy)
        assert [r["title"] for r in await lab.service.list(lab.a, "Sample")] == ["a-1"]
        assert (await lab.service.get(lab.a, "Sample", mine["id"]))["title"] == "a-1"
        assert taken == [lab.a.tenant_id, lab.a.tenant_id]  # each read: one statement


def _logs(lab):
    return lab.registry.timeline, lab.registry.outbox
