"""Writing a migration as a reviewable Piccolo migration module: the plan in its docstring,
the SQL as literal statements, and a `forwards()` that Piccolo's ForwardsMigrationManager
runs (one transaction: `apply.apply_migration`). The schema it leads to sits beside it as
JSON (one table a line): Piccolo imports every module of the folder each time it runs one,
and a thousand tables' snapshot per module would make that slow."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

from piccolo import __VERSION__ as PICCOLO_VERSION

from runtime.schema.ddl import Statement
from runtime.schema.spec import Schema

TEMPLATE = '''"""Plinth migration {id} ({engine}).

{plan}
"""

import json
from pathlib import Path

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

from runtime.schema.apply import apply_migration

ID = {id!r}
VERSION = {version!r}
DESCRIPTION = {description!r}

# (table, SQL), run in order in one transaction.
STATEMENTS = [
{statements}
]

# The schema after this migration (`plinth plan` compares the definitions with it).
SNAPSHOT = Path(__file__).with_suffix(".json")


async def forwards() -> MigrationManager:
    manager = MigrationManager(
        migration_id=ID, app_name="plinth", description=DESCRIPTION, wrap_in_transaction=False
    )

    async def run() -> None:
        await apply_migration(engine_finder(), ID, STATEMENTS, json.loads(SNAPSHOT.read_text()))

    manager.add_raw(run)
    return manager
'''


def python_string(sql: str) -> str:
    """A Python literal for a statement: triple-quoted where that reads well."""
    for quote in ('"""', "'''"):
        if quote not in sql and "\\" not in sql and not sql.endswith(quote[0]):
            return f"{quote}{sql}{quote}" if "\n" in sql else repr(sql)
    return repr(sql)


def snapshot_json(schema: Schema) -> str:
    """The schema as JSON, one table a line (so a diff between two migrations reads well)."""
    tables = ",\n".join(json.dumps(t, ensure_ascii=False) for t in schema.to_json()["tables"])
    return f'{{"engine": {json.dumps(schema.engine)}, "tables": [\n{tables}\n]}}\n'


def read_snapshot(module_path: Path) -> Schema | None:
    path = module_path.with_suffix(".json")
    return Schema.from_json(json.loads(path.read_text())) if path.exists() else None


_ID = re.compile(r"^ID = ['\"]([^'\"]+)['\"]", re.MULTILINE)


def new_id() -> str:
    """Piccolo's migration id format (its ids sort by time): 2024-06-01T12:00:00:123456."""
    return dt.datetime.now().strftime("%Y-%m-%dT%H:%M:%S:%f")


def file_name(migration_id: str) -> str:
    return "plinth_" + migration_id.replace(":", "_").replace("-", "_").lower() + ".py"


def read_id(path: Path) -> str | None:
    """A migration file's ID, read without importing it (it comes before the statements)."""
    with path.open() as lines:
        for line in lines:
            if match := _ID.match(line):
                return match.group(1)
    return None


def write_migration(
    folder: Path, schema: Schema, statements: list[Statement], plan_text: str
) -> tuple[str, Path]:
    """Write the module; returns its migration id and path."""
    migration_id = new_id()
    lines = [f"    ({s.table!r}, {python_string(s.sql)})," for s in statements]
    plan = plan_text.replace("\\", "\\\\").replace('"""', "'''")
    first = next((line for line in plan_text.splitlines() if line.strip()), "schema change")
    text = TEMPLATE.format(
        id=migration_id,
        engine=schema.engine,
        plan=plan,
        version=PICCOLO_VERSION,
        description=first.strip()[:200],
        statements="\n".join(lines),
    )
    path = folder / file_name(migration_id)
    path.with_suffix(".json").write_text(snapshot_json(schema))
    path.write_text(text)
    return migration_id, path
