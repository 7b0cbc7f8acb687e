"""Migration files on disk, and Piccolo's record (its `migration` table) of those that ran.

`plinth plan` only reads ids (no import: a file holds a whole schema); `plinth migrate` runs a
file through Piccolo's ForwardsMigrationManager, imported when it is needed.
"""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

from piccolo.engine.base import Engine

from runtime.database import is_postgres
from runtime.schema.migration_file import read_id

APP_NAME = "plinth"


def folder_for(engine: Engine[Any], root: Path) -> Path:
    """`<root>/sqlite` or `<root>/postgres`: the two histories differ."""
    folder = root / engine.engine_type
    package = folder / "__init__.py"
    if not package.exists():  # a deploy's committed folder is read-only: only make what lacks
        folder.mkdir(parents=True, exist_ok=True)
        package.touch()
    return folder


async def ran_ids(engine: Engine[Any]) -> set[str]:
    if is_postgres(engine):
        found = await engine.run_ddl("SELECT to_regclass('public.migration') AS t")
        exists = found[0]["t"] is not None
    else:
        found = await engine.run_ddl(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'migration'"
        )
        exists = bool(found)
    if not exists:
        return set()
    rows = await engine.run_ddl(f"SELECT name FROM migration WHERE app_name = '{APP_NAME}'")
    return {r["name"] for r in rows}


def on_disk(folder: Path) -> dict[str, Path]:
    """The migration files in `folder`, by id, oldest first."""
    found = {read_id(path): path for path in folder.glob("*.py") if path.name != "__init__.py"}
    return {i: found[i] for i in sorted(i for i in found if i)}


async def pending(engine: Engine[Any], folder: Path) -> dict[str, Path]:
    """The files in `folder` that the database has not run, by id, oldest first."""
    ran = await ran_ids(engine)
    return {i: path for i, path in on_disk(folder).items() if i not in ran}


async def ensure_table() -> None:
    from piccolo.apps.migrations.commands.forwards import ForwardsMigrationManager

    await ForwardsMigrationManager(app_name=APP_NAME).create_migration_table()


async def record(migration_id: str) -> None:
    """Mark a migration as run (its statements were applied but the row was not written)."""
    from piccolo.apps.migrations.tables import Migration

    await Migration.insert(Migration(name=migration_id, app_name=APP_NAME)).run()


async def run(folder: Path, migration_id: str) -> tuple[bool, str]:
    """Run one file through Piccolo: (success, Piccolo's message)."""
    from piccolo.apps.migrations.commands.forwards import ForwardsMigrationManager
    from piccolo.conf.apps import AppConfig

    config = AppConfig(app_name=APP_NAME, migrations_folder_path=str(folder.resolve()))
    manager = ForwardsMigrationManager(app_name=APP_NAME, migration_id=migration_id)
    with redirect_stdout(io.StringIO()):
        outcome = await manager.run_migrations(config)
    return outcome.success, outcome.message or ""
