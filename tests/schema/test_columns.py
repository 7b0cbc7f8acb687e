"""Every field type and option as real columns on both databases: the types the reference
table (docs/reference/columns.md) promises, and the rules the database enforces itself."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from runtime.database import engine_from_url
from runtime.definitions import load_project
from runtime.schema import build_registry
from runtime.schema.describe import describe
from tests.conftest import PG_ADMIN_DSN
from tests.schema.history import History
from tests.schema.inspect import columns, query

DOCS = Path(__file__).resolve().parents[2] / "docs" / "reference" / "columns.md"
EVERYTHING = """\
entity: Thing
module: lab
fields:
  s:   {type: string, max_length: 40, min_length: 2}
  t:   {type: text, max_length: 500}
  i:   {type: integer, min: 0, max: 10}
  d:   {type: decimal, digits: 10, places: 2, min: 0}
  f:   {type: float}
  b:   {type: boolean}
  day: {type: date}
  at:  {type: datetime}
  tm:  {type: time}
  e:   {type: email}
  u:   {type: url}
  id2: {type: uuid}
  en:  {type: enum, choices: [low, high]}
  j:   {type: json}
  owner: {type: reference, to: User, on_delete: set_null}
  doc: {type: file}
"""
POSTGRES_TYPES = {  # field → (data_type, length, precision, scale) in information_schema
    "s": ("character varying", 40, None, None),
    "t": ("text", None, None, None),
    "i": ("integer", None, 32, 0),
    "d": ("numeric", None, 10, 2),
    "f": ("double precision", None, 53, None),
    "b": ("boolean", None, None, None),
    "day": ("date", None, None, None),
    "at": ("timestamp with time zone", None, None, None),
    "tm": ("time without time zone", None, None, None),
    "e": ("character varying", 255, None, None),
    "u": ("character varying", 255, None, None),
    "id2": ("uuid", None, None, None),
    "en": ("character varying", 255, None, None),
    "j": ("jsonb", None, None, None),
    "owner": ("uuid", None, None, None),
    "doc": ("text", None, None, None),
}
SQLITE_TYPES = {
    "s": "VARCHAR(40)", "t": "TEXT", "i": "INTEGER", "d": "NUMERIC(10, 2)",
    "f": "DOUBLE PRECISION", "b": "BOOLEAN", "day": "DATE", "at": "TIMESTAMPTZ", "tm": "TIME",
    "e": "VARCHAR(255)", "u": "VARCHAR(255)", "id2": "UUID", "en": "VARCHAR(255)", "j": "JSON",
    "owner": "UUID", "doc": "TEXT",
}  # fmt: skip


def _doc_rows() -> dict[str, list[str]]:
    rows = {}
    for line in DOCS.read_text().splitlines():
        match = re.match(r"\| `(\w+)` \|", line)
        if match and match.group(1) not in rows:
            rows[match.group(1)] = [c.strip() for c in line.strip("|").split("|")]
    return rows


@pytest.fixture
def things(tmp_path: Path) -> Path:
    folder = tmp_path / "definitions"
    folder.mkdir()
    (folder / "thing.yaml").write_text(EVERYTHING)
    return folder


@pytest.mark.parametrize("url", ["sqlite:///unused.sqlite3", PG_ADMIN_DSN])
def test_the_reference_table_matches_the_code(url: str, things: Path) -> None:
    engine = engine_from_url(url)  # not connected: only the column types are read
    project = load_project(things)
    registry = build_registry(project, engine)
    table, spec = (
        registry.table("Thing"),
        describe(registry.project, registry.engine).tables["Thing"],
    )
    rows = _doc_rows()
    for field in project.entities["Thing"].fields:
        row = rows[field.type]
        assert f"`{type(getattr(table, field.name)).__name__}" in row[1], field.type
        declared = spec.column(field.name).type  # type: ignore[union-attr]
        cell = row[2] if engine.engine_type == "postgres" else row[3]
        assert re.sub(r"\(\d+(, \d+)?\)", "", declared) in cell, (field.type, declared)


async def test_every_type_has_its_column(database_url: str, tmp_path: Path) -> None:
    h = History(database_url, tmp_path)
    h.write_files({"thing.yaml": EVERYTHING})
    h.run("migrate")
    found = await columns(database_url, "lab", "thing")
    for name in POSTGRES_TYPES:
        if database_url.startswith("postgres"):
            r = found[name]
            actual = (r["data_type"], r["character_maximum_length"], r["numeric_precision"],
                      r["numeric_scale"])  # fmt: skip
            assert actual == POSTGRES_TYPES[name], name
            assert r["is_nullable"] == "YES"
        else:
            assert found[name]["type"] == SQLITE_TYPES[name], name
            assert found[name]["notnull"] == 0


VIOLATIONS = [  # (assignment, what the database's error names)
    ("en = 'medium'", "thing_en_choices"),
    ("i = 11", "thing_i_range"),
    ("d = -1", "thing_d_range"),
    ("s = 'x'", "thing_s_length"),
    (f"t = '{'x' * 501}'", "thing_t_length"),
    (f"s = '{'x' * 41}'", "too long|thing_s_length"),
]


async def test_the_database_enforces_what_it_can(database_url: str, tmp_path: Path) -> None:
    h = History(database_url, tmp_path)
    h.write_files({"thing.yaml": EVERYTHING})
    h.run("migrate")
    async with h.service() as (service, principal):
        await service.create(principal, "Thing", {"s": "ok", "en": "low", "i": 3})
    table = "lab.thing" if database_url.startswith("postgres") else "thing"
    for assignment, rule in VIOLATIONS:
        with pytest.raises(Exception, match=rule):
            await query(database_url, f"UPDATE {table} SET {assignment}")
    kept = await query(database_url, f"SELECT s, en, i FROM {table}")
    assert [dict(r) for r in kept] == [{"s": "ok", "en": "low", "i": 3}]


async def test_a_datetime_is_stored_in_utc(database_url: str, tmp_path: Path) -> None:
    h = History(database_url, tmp_path)
    h.write_files({"thing.yaml": EVERYTHING})
    h.run("migrate")
    async with h.service() as (service, principal):
        row = await service.create(principal, "Thing", {"at": "2024-06-01T12:00:00+02:00"})
    assert row["at"] == "2024-06-01T10:00:00Z"
    table = "lab.thing" if database_url.startswith("postgres") else "thing"
    stored = (await query(database_url, f"SELECT at FROM {table}"))[0]["at"]
    if isinstance(stored, str):  # SQLite keeps ISO text
        assert "2024-06-01" in stored and "10:00:00" in stored and stored.endswith("+00:00")
    else:
        assert stored == dt.datetime(2024, 6, 1, 10, tzinfo=dt.UTC)
