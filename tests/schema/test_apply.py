"""Applying one migration: every statement reported to the progress display, all of them or
none committed, the applied schema stored with them."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.database import engine_from_url
from runtime.schema.apply import StatementFailed, apply_migration, read_state, reporter
from runtime.schema.ddl import Statement
from runtime.schema.progress import describe_statement
from runtime.schema.spec import Schema, Table
from tests.schema.inspect import query

SNAPSHOT = Schema("sqlite", {"T": Table("T", "t", None)}).to_json()


async def test_each_statement_is_reported_and_the_schema_stored(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    events: list[tuple[int, int, bool]] = []
    token = reporter.set(lambda s, i, n, seconds: events.append((i, n, seconds is None)))
    try:
        await apply_migration(
            engine_from_url(url),
            "m1",
            [("T", 'CREATE TABLE "t" ("id" INTEGER)'), ("T", 'CREATE INDEX "t_i" ON "t" ("id")')],
            SNAPSHOT,
        )
    finally:
        reporter.reset(token)
    assert events == [(0, 2, True), (0, 2, False), (1, 2, True), (1, 2, False)]
    migration, schema = await read_state(engine_from_url(url))
    assert migration == "m1" and schema == Schema.from_json(SNAPSHOT)


async def test_a_failing_statement_rolls_back_the_whole_migration(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    statements = [("T", 'CREATE TABLE "t" ("id" INTEGER)'), ("T", "CREATE TABLE broken (")]
    with pytest.raises(StatementFailed) as failure:
        await apply_migration(engine_from_url(url), "m1", statements, SNAPSHOT)
    assert failure.value.statement == Statement("T", "CREATE TABLE broken (")
    assert await query(url, "SELECT name FROM sqlite_master") == []  # not even the state table


def test_progress_names_the_long_steps() -> None:
    copy = Statement("T", 'INSERT INTO "_plinth_new_t" ("id") SELECT "id" FROM "t"')
    index = Statement("T", 'CREATE UNIQUE INDEX "t_code_unique" ON "app"."t" ("code")')
    assert describe_statement(copy) == "T: rebuild table t: copy the rows"
    assert describe_statement(index) == "T: build index t_code_unique"
