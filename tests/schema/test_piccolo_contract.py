"""What Plinth's migrations rely on in Piccolo 1.38 (pinned). If an upgrade changes one of
these, this fails first and says which."""

from __future__ import annotations

import dataclasses
import inspect
import json
from pathlib import Path

import piccolo
import pytest
from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.apps.migrations.commands.forwards import ForwardsMigrationManager
from piccolo.columns import JSON

from runtime.database import engine_from_url
from runtime.definitions import load_project
from runtime.schema import build_registry
from runtime.schema.ddl import column_sql
from runtime.schema.describe import describe
from tests.conftest import PG_ADMIN_DSN

LAB = Path(__file__).resolve().parents[1] / "service" / "definitions"
DEFAULTS = """\
entity: Defaults
fields:
  s:  {type: string, default: "it's"}
  i:  {type: integer, default: 3}
  d:  {type: decimal, digits: 8, places: 3, default: 1.5}
  f:  {type: float, default: 2}
  b:  {type: boolean, default: true}
  en: {type: enum, choices: [a, b], default: b}
  j:  {type: json, default: {a: 1}}
  dt: {type: datetime, default: $now}
  me: {type: reference, to: Defaults, on_delete: cascade}
  org: {type: reference, to: Organization, on_delete: restrict}
"""


@pytest.fixture(params=["lab", "defaults"])
def definitions(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    if request.param == "lab":
        return LAB
    (tmp_path / "defaults.yaml").write_text(DEFAULTS)
    return tmp_path


def test_piccolo_is_the_pinned_version() -> None:
    assert piccolo.__VERSION__ == "1.38.0"


def test_our_column_ddl_is_piccolos_without_the_foreign_key(definitions: Path) -> None:
    """The columns Plinth creates are declared exactly as Piccolo would (SQLite's converters
    depend on the declared type names), foreign keys aside: Plinth names those."""
    for url in ("sqlite:///unused.sqlite3", PG_ADMIN_DSN):
        registry = build_registry(load_project(definitions), engine_from_url(url))
        schema = describe(registry.project, registry.engine)
        for table in registry.all_tables():
            spec = schema.tables[table.__name__]
            for column in table._meta.columns:
                ours = column_sql(spec.column(column._meta.db_column_name))  # type: ignore[arg-type]
                theirs = column.ddl.split(" REFERENCES ")[0]
                if " REFERENCES " in column.ddl:
                    theirs += " DEFAULT " + column.ddl.rsplit(" DEFAULT ", 1)[1]
                theirs = theirs.replace("'it's'", "'it''s'")  # Piccolo does not escape quotes
                if isinstance(column, JSON):  # Piccolo dumps with orjson when it is installed
                    ours, theirs = _json_default(ours), _json_default(theirs)
                assert ours.replace(" DEFAULT null", "") == theirs.replace(" DEFAULT null", ""), (
                    url,
                    table.__name__,
                )


def _json_default(ddl: str) -> str:
    """A JSON column's DDL with its default as parsed JSON (the same value, however spaced)."""
    head, sep, literal = ddl.partition(" DEFAULT '")
    if not sep:
        return ddl
    return head + sep + json.dumps(json.loads(literal.rstrip("'").replace("''", "'")))


def test_the_migration_runner_keeps_its_shape() -> None:
    fields = {f.name for f in dataclasses.fields(MigrationManager)}
    assert {"migration_id", "app_name", "description", "wrap_in_transaction"} <= fields
    assert callable(MigrationManager.add_raw)
    parameters = inspect.signature(ForwardsMigrationManager.__init__).parameters
    assert "migration_id" in parameters
    assert callable(ForwardsMigrationManager.get_migration_modules)
    sqlite = engine_from_url("sqlite:///unused.sqlite3")
    assert sqlite.connection_kwargs["database"] == "unused.sqlite3"  # type: ignore[attr-defined]
