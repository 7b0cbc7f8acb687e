"""Issue 5's scripted history on SQLite and PostgreSQL: ten definition revisions applied in
order with records written through the RecordService between them. After each step the rows
and their values survive; `plinth plan` prints the golden text, impact counts included; a
refused step changes nothing; re-running migrate is a no-op."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from runtime.service import Conflict, UniqueConflict
from tests.schema.history import GOLDEN, REVISIONS, History, Revision, golden
from tests.schema.inspect import catalog, query

ENGINES = {"sqlite": "sqlite", "postgres": "postgres"}


def _engine(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgres"


def check_plan(history: History, revision: Revision) -> str:
    engine = _engine(history.database_url)
    text = history.run("plan").stdout.rstrip("\n")
    if os.environ.get("PLINTH_WRITE_GOLDEN") == "1":
        (GOLDEN / f"{revision.name}.txt").write_text(text.replace(engine, "{engine}") + "\n")
    assert text == golden(revision.name, engine)
    return text


async def snapshot(history: History) -> tuple:
    """The catalog and every customer and contract row: what a refused step must not touch."""
    found = await catalog(history.database_url)
    tables = [t for t in ("crm.customer", "sales.contract") if await _exists(history, t)]
    data = [await query(history.database_url, f"SELECT * FROM {_name(history, t)} ORDER BY id")
            for t in tables]  # fmt: skip
    return found, data, [p.name for p in history.files()]


def _name(history: History, table: str) -> str:
    return table if _engine(history.database_url) == "postgres" else table.split(".")[1]


async def _exists(history: History, table: str) -> bool:
    if _engine(history.database_url) == "postgres":
        rows = await query(history.database_url, f"SELECT to_regclass('{table}') AS t")
        return rows[0]["t"] is not None
    name = table.split(".")[1]
    rows = await query(
        history.database_url, f"SELECT name FROM sqlite_master WHERE name = '{name}'"
    )
    return bool(rows)


async def step(history: History, revision: Revision, refusal: list[str] = ()) -> None:
    """Write the revision, check its plan, migrate (refused first if destructive)."""
    history.write(revision)
    check_plan(history, revision)
    before = len(history.files())
    if revision.destructive:
        state = await snapshot(history)
        refused = history.run("migrate", check=False)
        assert refused.returncode == 1, refused.stdout + refused.stderr
        message = " ".join(refused.stderr.split())
        assert "Nothing was changed" in message
        for line in refusal:
            assert line in message, message
        assert await snapshot(history) == state
        check_plan(history, revision)  # the applied schema is as it was
        history.run("migrate", "--allow-destructive")
    else:
        history.run("migrate")
    assert len(history.files()) == before + 1
    assert history.run("plan").stdout.strip() == "nothing to change: the database is up to date"


async def expect_records(history: History, entity: str = "Customer") -> None:
    async with history.service() as (service, principal):
        for record_id, values in history.records.items():
            if values.get("_entity", "Customer") != entity:
                continue
            row = await service.get(principal, entity, record_id)
            shown = {k: row.get(k) for k in values if not k.startswith("_")}
            assert shown == {k: v for k, v in values.items() if not k.startswith("_")}


async def create(history: History, entity: str, values: dict) -> str:
    async with history.service() as (service, principal):
        row = await service.create(principal, entity, values)
    history.records[row["id"]] = {**values, "_entity": entity}
    return row["id"]


async def update(history: History, record_id: str, values: dict) -> None:
    async with history.service() as (service, principal):
        await service.update(principal, "Customer", record_id, values)
    history.records[record_id].update(values)


def expect_all(history: History, **changes) -> None:
    """Every customer's expected values change the same way (a field renamed, dropped or
    added with a default)."""
    for values in history.records.values():
        if values["_entity"] != "Customer":
            continue
        for name, new in changes.items():
            if isinstance(new, tuple):  # ("rename", new_name)
                values[new[1]] = values.pop(name, None)
            elif new is None:
                values.pop(name, None)
            else:
                values.setdefault(name, new)


@pytest.mark.long  # minutes: its module starts first (tests/parallel.py)
async def test_the_scripted_history_keeps_every_row_and_value(
    database_url: str, tmp_path: Path
) -> None:
    h = History(database_url, tmp_path)
    r = iter(REVISIONS)

    await step(h, next(r))  # 01 add entity
    ada = await create(h, "Customer", {"name": "Ada"})
    grace = await create(h, "Customer", {"name": "Grace"})
    await create(h, "Customer", {"name": "Linus"})

    await step(h, next(r))  # 02 add optional field
    for values in h.records.values():
        values["phone"] = None
    await expect_records(h)
    await create(h, "Customer", {"name": "Alan", "phone": "555-0104"})
    await update(h, ada, {"phone": "555-0101"})

    await step(h, next(r))  # 03 add required field with default: old rows get it
    expect_all(h, tier="basic")
    await expect_records(h)
    barbara = await create(h, "Customer", {"name": "Barbara", "phone": "555-0105", "tier": "gold"})
    await update(h, grace, {"tier": "gold"})

    await step(h, next(r))  # 04 add index and unique index (no duplicates: not refused)
    await expect_records(h)
    async with h.service() as (service, principal):
        with pytest.raises(UniqueConflict, match="phone"):
            await service.create(principal, "Customer", {"name": "Eve", "phone": "555-0101"})
    await _duplicate_refused_by_database(h)

    await step(h, next(r))  # 05 rename phone → mobile: the values follow
    expect_all(h, phone=("rename", "mobile"))
    await expect_records(h)

    await step(h, next(r))  # 06 widen a string (a table rebuild on SQLite)
    await expect_records(h)
    await create(h, "Customer", {"name": "N" * 120, "tier": "basic"})

    await step(  # 07 drop the choice "gold" (2 rows), require mobile (3 rows without one)
        h,
        next(r),
        refusal=[
            "Customer: change choices of tier: +silver +platinum -gold — 2 values not among",
            "Customer: field mobile becomes required — 3 rows without a value",
        ],
    )
    h.records[grace]["tier"] = h.records[barbara]["tier"] = "basic"  # the default
    await expect_records(h)

    await step(h, next(r))  # 08 references with each on_delete
    await expect_records(h)
    junior = await create(h, "Customer", {"name": "Ada Jr", "mobile": "555-0199", "parent": ada})
    await create(h, "Contract", {"title": "Support", "customer": ada, "referrer": grace})
    await create(h, "Contract", {"title": "Audit", "customer": barbara})
    await expect_records(h, "Contract")

    await step(  # 09 drop a field (a rebuild on SQLite, with foreign keys pointing at it)
        h, next(r), refusal=["Customer: drop field mobile — 4 rows hold a value"]
    )
    expect_all(h, mobile=None)
    await expect_records(h)
    await expect_records(h, "Contract")
    async with h.service() as (service, principal):
        with pytest.raises(Conflict, match=r"1 Contract record\(s\) refer to it"):
            await service.delete(principal, "Customer", ada)
        assert (await service.get(principal, "Customer", junior))["parent"] == ada

    await step(h, next(r), refusal=["Contract: drop table contract — 2 rows"])  # 10 drop entity
    await expect_records(h)
    assert not await _exists(h, "sales.contract")

    again = h.run("migrate")  # re-running is a no-op
    assert "wrote" not in again.stdout and "applied" not in again.stdout
    assert len(h.files()) == len(REVISIONS)


async def _duplicate_refused_by_database(h: History) -> None:
    """Past the service, the per-organization unique index itself refuses a duplicate."""
    async with h.service() as (service, principal):
        table = service.registry.table("Customer")
        row = table(id=uuid.uuid4(), tenant_id=principal.tenant_id, name="Eve", phone="555-0101")
        with pytest.raises(Exception, match=r"(?i)unique"):
            await table.insert(row).run()
