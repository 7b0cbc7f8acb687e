"""The diff's rules, without a database: which steps are safe, narrowing or destructive, what
each measures, when SQLite must rebuild a table, and that a snapshot round-trips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runtime.database import engine_from_url
from runtime.definitions import load_project
from runtime.schema.describe import describe
from runtime.schema.diff import Probe, diff
from runtime.schema.spec import Schema, identifier
from runtime.schema.sqlite_rebuild import needs_rebuild
from tests.conftest import PG_ADMIN_DSN

BASE = {
    "name": "{type: string, max_length: 50}",
    "tier": "{type: enum, choices: [basic, gold]}",
    "quantity": "{type: integer, min: 0, max: 10}",
    "notes": "{type: text}",
}


def schema(tmp_path: Path, engine: str = "sqlite", **fields: str) -> Schema:
    folder = tmp_path / f"defs-{len(list(tmp_path.iterdir()))}"
    folder.mkdir()
    lines = [f"  {name}: {spec}" for name, spec in fields.items() if spec]
    (folder / "thing.yaml").write_text("entity: Thing\nfields:\n" + "\n".join(lines) + "\n")
    url = "sqlite:///unused.sqlite3" if engine == "sqlite" else PG_ADMIN_DSN
    return describe(load_project(folder), engine_from_url(url))


def steps(tmp_path: Path, **changes: str) -> list:
    old = schema(tmp_path, **BASE)
    new = schema(tmp_path, **{**BASE, **changes})
    return [s for c in diff(old, new) for s in c.steps]


@pytest.mark.parametrize(
    ("change", "kind", "risk", "probe"),
    [
        ({"name": "{type: string, max_length: 80}"}, "change_length", None, None),
        (
            {"name": "{type: string, max_length: 20}"},
            "change_length",
            "narrowing",
            Probe("too_long", "name", (20,)),
        ),
        ({"name": "{type: text}"}, "change_type", None, None),
        ({"tier": "{type: enum, choices: [basic, gold, vip]}"}, "change_choices", None, None),
        (
            {"tier": "{type: enum, choices: [basic]}"},
            "change_choices",
            "narrowing",
            Probe("not_in", "tier", ("basic",)),
        ),
        ({"quantity": "{type: integer, min: 0, max: 20}"}, "change_range", None, None),
        (
            {"quantity": "{type: integer, min: 1, max: 10}"},
            "change_range",
            "narrowing",
            Probe("outside", "quantity", (1, 10)),
        ),
        ({"quantity": "{type: decimal}"}, "change_type", None, None),
        (
            {"notes": "{type: integer}"},
            "change_type",
            "destructive",
            Probe("values", "notes"),
        ),
        (
            {"notes": "{type: text, required: true}"},
            "change_required",
            "narrowing",
            Probe("nulls", "notes"),
        ),
        ({"notes": ""}, "drop_field", "destructive", Probe("values", "notes")),
        ({"extra": "{type: string}"}, "add_field", None, None),
        (
            {"extra": "{type: string, required: true}"},
            "add_field",
            "narrowing",
            Probe("rows", note="stay empty"),
        ),
    ],
)
def test_each_change_is_classified_and_measured(
    tmp_path: Path, change: dict, kind: str, risk: str | None, probe: Probe | None
) -> None:
    found = [s for s in steps(tmp_path, **change) if s.kind != "add_index"]
    assert [(s.kind, s.risk, s.probe) for s in found] == [(kind, risk, probe)]


def test_a_required_field_with_a_default_fills_empty_values(tmp_path: Path) -> None:
    spec = "{type: enum, choices: [basic, gold], required: true, default: basic}"
    required, default = steps(tmp_path, tier=spec)
    assert (required.kind, required.risk, required.fill) == ("change_required", None, "basic")
    assert (default.kind, default.text) == (
        "change_default",
        "change default of tier: None → 'basic'",
    )


def test_renamed_from_renames_instead_of_dropping(tmp_path: Path) -> None:
    changes = {"name": "", "title": "{type: string, max_length: 50, renamed_from: name}"}
    found = steps(tmp_path, **changes)
    assert [(s.kind, s.text) for s in found] == [
        ("rename_field", "rename field name → title (keeps its values)")
    ]


def test_a_unique_index_over_existing_values_counts_duplicates(tmp_path: Path) -> None:
    [step] = steps(tmp_path, name="{type: string, max_length: 50, unique: true}")
    assert (step.kind, step.risk) == ("add_index", "narrowing")
    assert step.probe == Probe("duplicates", None, ("tenant_id", "name"))


@pytest.mark.parametrize(
    ("change", "rebuild"),
    [
        ({"extra": "{type: string}"}, False),  # ADD COLUMN, its CHECK inline
        ({"name": "{type: string, max_length: 50, index: true}"}, False),  # an index
        ({"name": "{type: string, max_length: 80}"}, True),  # the length CHECK changes
        ({"tier": "{type: enum, choices: [basic]}"}, True),  # the choices CHECK changes
        ({"notes": "{type: text, default: hello}"}, True),  # a default
        ({"notes": ""}, False),  # DROP COLUMN
        ({"quantity": ""}, True),  # a column with a CHECK
    ],
)
def test_sqlite_rebuilds_only_what_alter_table_cannot_do(
    tmp_path: Path, change: dict, rebuild: bool
) -> None:
    old = schema(tmp_path, **BASE)
    [table_change] = diff(old, schema(tmp_path, **{**BASE, **change}))
    assert needs_rebuild(table_change.before, table_change.new) is rebuild


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
def test_a_snapshot_round_trips_through_json(tmp_path: Path, engine: str) -> None:
    original = schema(tmp_path, engine, **BASE, owner="{type: reference, to: User}")
    copy = Schema.from_json(json.loads(json.dumps(original.to_json())))
    assert copy == original
    assert copy.digest() == original.digest()
    assert diff(copy, original) == []


def test_long_names_fit_postgres_and_stay_stable() -> None:
    name = "a_very_long_table_name_" * 4 + "field_unique"
    short = identifier(name)
    assert (
        len(short.encode()) <= 63 and short == identifier(name) and short != identifier(name + "x")
    )


def test_reordering_fields_is_not_a_change(tmp_path: Path) -> None:
    old = schema(tmp_path, **BASE)
    new = schema(tmp_path, **dict(reversed(BASE.items())))
    assert old != new and diff(old, new) == []
