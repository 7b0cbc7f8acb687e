"""PostgreSQL's second wall: row-level security under the plinth_app role, and an
append-only timeline — proven with the service's own tenant filter bypassed."""

from __future__ import annotations

import asyncpg
import pytest

from runtime.service.tenancy import tenant_wall
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
