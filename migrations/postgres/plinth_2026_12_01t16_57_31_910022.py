"""Plinth migration 2026-12-01T16:57:31:910022 (postgres).

Schema changes (postgres): 1 step

Plinth platform tables
  + create table plinth_import_job
"""

import json
from pathlib import Path

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

from runtime.schema.apply import apply_migration

ID = '2026-12-01T16:57:31:910022'
VERSION = '1.38.0'
DESCRIPTION = 'Schema changes (postgres): 1 step'

# (table, SQL), run in order in one transaction.
STATEMENTS = [
    ('PlinthImportJob', """CREATE TABLE "plinth_import_job" (
    "id" UUID PRIMARY KEY NOT NULL DEFAULT gen_random_uuid(),
    "tenant_id" UUID DEFAULT gen_random_uuid(),
    "entity" VARCHAR(100) NOT NULL DEFAULT '',
    "created_by" UUID DEFAULT gen_random_uuid(),
    "status" VARCHAR(20) NOT NULL DEFAULT 'running',
    "options" JSON NOT NULL DEFAULT '{}',
    "report" JSON NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    "finished_at" TIMESTAMPTZ DEFAULT null
)"""),
    ('PlinthImportJob', 'CREATE INDEX "plinth_import_job_tenant_id_idx" ON "plinth_import_job" ("tenant_id")'),
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
