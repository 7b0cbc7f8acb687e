"""`plinth migrate`: write a Piccolo migration for what changed, then apply every pending one.

Migration files live in `<migrations>/<engine>/` (sqlite or postgres): SQLite has no schemas
and rebuilds tables where PostgreSQL alters them, so the two histories differ.
"""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from dataclasses import dataclass
from pathlib import Path

from piccolo.apps.migrations.commands.forwards import ForwardsMigrationManager
from piccolo.apps.migrations.commands.new import NoChanges, _create_new_migration
from piccolo.conf.apps import AppConfig

from runtime.database import is_postgres
from runtime.schema.registry import Registry
from runtime.schema.security import security_ddl

APP_NAME = "plinth"


class MigrationError(RuntimeError):
    """Applying migrations failed; the message says which step."""


@dataclass(frozen=True)
class MigrateResult:
    written: Path | None  # the new migration file, if the definitions changed
    log: str  # what Piccolo printed while applying


def migrations_folder(registry: Registry, root: Path) -> Path:
    folder = root / registry.engine.engine_type
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "__init__.py").touch()
    return folder


def extra_indexes(registry: Registry) -> list[str]:
    """Indexes Piccolo cannot declare (composite ones, and unique values per organization),
    as idempotent DDL."""
    run = registry.workflow_run._meta.tablename
    ddl = [
        f'CREATE UNIQUE INDEX IF NOT EXISTS "{run}_event_workflow" ON "{run}" '
        '("event_id", "workflow")',
    ]
    for entity in registry.project.entities.values():
        table = registry.table(entity)._meta.get_formatted_tablename()
        groups = [((f.name,), True) for f in entity.fields if f.unique]
        groups += [(index.fields, index.unique) for index in entity.indexes]
        for names, unique in groups:
            columns = (("tenant_id",) if entity.tenant_scoped else ()) + tuple(names)
            name = f"{entity.table}_{'_'.join(names)}_{'unique' if unique else 'idx'}"
            ddl.append(
                f'CREATE {"UNIQUE " if unique else ""}INDEX IF NOT EXISTS "{name}" ON {table} '
                f"({', '.join(f'{c!r}'.replace(chr(39), chr(34)) for c in columns)})"
            )
    return ddl


async def _ensure_schemas(registry: Registry) -> None:
    if is_postgres(registry.engine):
        for module in sorted({e.module for e in registry.project.entities.values()}):
            await registry.engine.run_ddl(f'CREATE SCHEMA IF NOT EXISTS "{module}"')


async def migrate(registry: Registry, root: Path) -> MigrateResult:
    folder = migrations_folder(registry, root)
    config = AppConfig(
        app_name=APP_NAME,
        migrations_folder_path=str(folder.resolve()),
        table_classes=registry.all_tables(),
    )
    await _ensure_schemas(registry)
    log = io.StringIO()
    written: Path | None = None
    with redirect_stdout(log):
        try:
            meta = await _create_new_migration(config, auto=True, auto_input="n")
            written = Path(meta.migration_path)
        except NoChanges:
            pass
        manager = ForwardsMigrationManager(app_name=APP_NAME)
        await manager.create_migration_table()
        result = await manager.run_migrations(config)
    if not result.success:
        raise MigrationError(result.message)
    for ddl in extra_indexes(registry):
        await registry.engine.run_ddl(ddl)
    if is_postgres(registry.engine):
        async with registry.engine.transaction():
            for ddl in security_ddl(registry):
                await registry.engine.run_ddl(ddl)
    return MigrateResult(written=written, log=log.getvalue())


async def plan(registry: Registry, root: Path) -> list[str]:
    """The statements a migration would apply now, one per line (empty: up to date)."""
    from piccolo.apps.migrations.commands.new import AutoMigrationManager

    config = AppConfig(
        app_name=APP_NAME,
        migrations_folder_path=str(migrations_folder(registry, root).resolve()),
        table_classes=registry.all_tables(),
    )
    with redirect_stdout(io.StringIO()):
        statements = await AutoMigrationManager(auto_input="n").get_alter_statements(config)
    return [line for group in statements for line in group.statements]
