"""Compiled statements kept by what they depend on (runtime/service/statements.py): a kept
statement answers for the caller, the record and the time it is asked, never for the first
asker."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import pytest
from piccolo.columns import UUID, Integer
from piccolo.engine.postgres import PostgresEngine
from piccolo.table import Table

from runtime.service import ListQuery
from runtime.service.errors import NotFound, ValidationFailed
from runtime.service.statements import Statements
from tests.service.lab import open_lab


class _Thing(Table, db=PostgresEngine(config={})):
    owner = UUID()
    size = Integer()


def test_the_hole_is_found_by_identity_not_by_equality() -> None:
    statements = Statements()
    owner = uuid.uuid4()
    same_text = uuid.UUID(str(owner))  # equal to the hole, but another value of the query

    def build(value: uuid.UUID) -> object:
        return _Thing.select().where(_Thing.owner == same_text).where(_Thing.id == value)

    first, second = uuid.UUID(str(owner)), uuid.uuid4()
    sql, args = statements.compiled("k", lambda: build(first), first)  # type: ignore[arg-type,return-value]
    assert args == [same_text, first]
    again, args = statements.compiled("k", lambda: build(second), second)  # type: ignore[arg-type,return-value]
    assert again == sql and args == [same_text, second]


def test_a_statement_without_a_hole_is_not_kept_when_the_hole_is_not_found() -> None:
    statements = Statements()
    built: list[int] = []

    def build() -> object:
        built.append(1)
        return _Thing.select().where(_Thing.size == 3)

    hole = uuid.uuid4()  # not in the query
    for _ in range(2):
        statements.compiled("k", build, hole)  # type: ignore[arg-type]
    assert len(built) == 2


def test_the_oldest_key_goes_first_when_full() -> None:
    statements = Statements(size=2)
    built: list[str] = []

    def build(key: str) -> object:
        built.append(key)
        return _Thing.select().where(_Thing.size == len(key))

    for key in ["a", "b", "a", "c", "b", "a"]:
        statements.compiled(key, lambda k=key: build(k))  # type: ignore[misc]
    # "a" is kept, then pushed out by "c" (first in, first out: a use does not renew it)
    assert built == ["a", "b", "c", "a"]


async def test_each_get_answers_for_its_record_and_its_caller(lab_url: str) -> None:
    async with open_lab(lab_url) as lab:
        made = [await lab.service.create(lab.a, "Sample", {"title": f"t{i}"}) for i in range(3)]
        for _ in range(2):
            for record in made:
                got = await lab.service.get(lab.a, "Sample", record["id"])
                assert got["id"] == record["id"] and got["title"] == record["title"]
        with pytest.raises(NotFound):  # another tenant, after the owner's get was kept
            await lab.service.get(lab.b, "Sample", made[0]["id"])
        theirs = await lab.service.create(lab.b, "Sample", {"title": "b's"})
        assert (await lab.service.get(lab.b, "Sample", theirs["id"]))["title"] == "b's"
        with pytest.raises(NotFound):
            await lab.service.get(lab.a, "Sample", theirs["id"])


async def test_a_filter_on_now_is_bound_at_each_request(lab_url: str) -> None:
    async with open_lab(lab_url) as lab:
        soon = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1.5)
        await lab.service.create(lab.a, "Sample", {"title": "soon", "at": soon.isoformat()})
        ahead = {"at": {"gt": "$now"}}
        first = await lab.service.page(lab.a, "Sample", ListQuery(filter=ahead))
        assert [r["title"] for r in first.rows] == ["soon"]
        await asyncio.sleep(2)
        later = await lab.service.page(lab.a, "Sample", ListQuery(filter=ahead))
        assert later.rows == []  # kept with the first request's time, it would say "soon"


async def test_a_filter_no_key_can_say_is_refused_as_a_bad_filter(lab_url: str) -> None:
    async with open_lab(lab_url) as lab:
        with pytest.raises(ValidationFailed, match="a field name is text"):
            await lab.service.page(lab.a, "Sample", ListQuery(filter={1: "x", "titel": "y"}))


async def test_each_update_locks_and_changes_its_own_record(lab_url: str) -> None:
    """A write's read inside its transaction (FOR UPDATE) runs kept SQL too: each update
    reads and changes the record it names, and no other."""
    async with open_lab(lab_url) as lab:
        made = [await lab.service.create(lab.a, "Sample", {"title": f"u{i}"}) for i in range(3)]
        for i, record in enumerate(made):
            await lab.service.update(lab.a, "Sample", record["id"], {"quantity": 10 + i})
        got = [await lab.service.get(lab.a, "Sample", r["id"]) for r in made]
        assert [(g["title"], g["quantity"], g["version"]) for g in got] == [
            ("u0", 10, 2), ("u1", 11, 2), ("u2", 12, 2)
        ]  # fmt: skip
        with pytest.raises(NotFound):
            await lab.service.update(lab.b, "Sample", made[0]["id"], {"quantity": 1})
