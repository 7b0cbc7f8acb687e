"""Plinth migration 2026-12-01T15:58:08:868592 (postgres).

Schema changes (postgres): 13 steps

Plinth platform tables
  + create table plinth_user
  + create table plinth_organization
  + create table plinth_membership
  + create table plinth_session
  + create table plinth_refresh_token
  + create table plinth_api_token
  + create table plinth_timeline
  + create table plinth_outbox
  + create table plinth_workflow_run
  + create table plinth_schedule_tick
  + create table plinth_totp

Contact
  + create table contact with fields name, email

Ticket
  + create table ticket with fields subject, body, status, priority, contact → Contact (set_null), due_at, internal_notes
"""

import json
from pathlib import Path

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

from runtime.schema.apply import apply_migration

ID = '2026-12-01T15:58:08:868592'
VERSION = '1.38.0'
DESCRIPTION = 'Schema changes (postgres): 13 steps'

# (table, SQL), run in order in one transaction.
STATEMENTS = [
    ('', 'CREATE SCHEMA IF NOT EXISTS "helpdesk"'),
    ('PlinthUser', """CREATE TABLE "plinth_user" (
    "username" VARCHAR(100) UNIQUE NOT NULL DEFAULT '',
    "password" VARCHAR(255) NOT NULL DEFAULT '',
    "first_name" VARCHAR(255) DEFAULT '',
    "last_name" VARCHAR(255) DEFAULT '',
    "email" VARCHAR(255) UNIQUE NOT NULL DEFAULT '',
    "active" BOOLEAN NOT NULL DEFAULT false,
    "admin" BOOLEAN NOT NULL DEFAULT false,
    "superuser" BOOLEAN NOT NULL DEFAULT false,
    "last_login" TIMESTAMP DEFAULT null,
    "id" UUID PRIMARY KEY NOT NULL DEFAULT gen_random_uuid()
)"""),
    ('PlinthOrganization', """CREATE TABLE "plinth_organization" (
    "id" UUID PRIMARY KEY NOT NULL DEFAULT gen_random_uuid(),
    "slug" VARCHAR(100) UNIQUE NOT NULL DEFAULT '',
    "name" VARCHAR(200) NOT NULL DEFAULT '',
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
)"""),
    ('PlinthMembership', """CREATE TABLE "plinth_membership" (
    "id" UUID PRIMARY KEY NOT NULL DEFAULT gen_random_uuid(),
    "user" UUID DEFAULT null,
    "organization" UUID DEFAULT null,
    "roles" JSON NOT NULL DEFAULT '[]',
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    CONSTRAINT "plinth_membership_user_fkey" FOREIGN KEY ("user") REFERENCES "plinth_user" ("id") ON DELETE CASCADE,
    CONSTRAINT "plinth_membership_organization_fkey" FOREIGN KEY ("organization") REFERENCES "plinth_organization" ("id") ON DELETE CASCADE
)"""),
    ('PlinthMembership', 'CREATE INDEX "plinth_membership_user_idx" ON "plinth_membership" ("user")'),
    ('PlinthMembership', 'CREATE INDEX "plinth_membership_organization_idx" ON "plinth_membership" ("organization")'),
    ('PlinthSession', """CREATE TABLE "plinth_session" (
    "token" VARCHAR(100) NOT NULL DEFAULT '',
    "user_id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "expiry_date" TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP + INTERVAL '0 days 1 hours 0 minutes 0 seconds',
    "max_expiry_date" TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP + INTERVAL '7 days 0 hours 0 minutes 0 seconds',
    "id" SERIAL PRIMARY KEY NOT NULL
)"""),
    ('PlinthRefreshToken', """CREATE TABLE "plinth_refresh_token" (
    "id" UUID PRIMARY KEY NOT NULL DEFAULT gen_random_uuid(),
    "token_hash" VARCHAR(64) UNIQUE NOT NULL DEFAULT '',
    "family_id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "user" UUID DEFAULT null,
    "organization_id" UUID DEFAULT gen_random_uuid(),
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    "expires_at" TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    "used_at" TIMESTAMPTZ DEFAULT null,
    "revoked_at" TIMESTAMPTZ DEFAULT null,
    CONSTRAINT "plinth_refresh_token_user_fkey" FOREIGN KEY ("user") REFERENCES "plinth_user" ("id") ON DELETE CASCADE
)"""),
    ('PlinthRefreshToken', 'CREATE INDEX "plinth_refresh_token_family_id_idx" ON "plinth_refresh_token" ("family_id")'),
    ('PlinthRefreshToken', 'CREATE INDEX "plinth_refresh_token_user_idx" ON "plinth_refresh_token" ("user")'),
    ('PlinthApiToken', """CREATE TABLE "plinth_api_token" (
    "id" UUID PRIMARY KEY NOT NULL DEFAULT gen_random_uuid(),
    "name" VARCHAR(100) NOT NULL DEFAULT '',
    "token_hash" VARCHAR(64) UNIQUE NOT NULL DEFAULT '',
    "user" UUID DEFAULT null,
    "organization" UUID DEFAULT null,
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    "last_used_at" TIMESTAMPTZ DEFAULT null,
    "revoked_at" TIMESTAMPTZ DEFAULT null,
    CONSTRAINT "plinth_api_token_user_fkey" FOREIGN KEY ("user") REFERENCES "plinth_user" ("id") ON DELETE CASCADE,
    CONSTRAINT "plinth_api_token_organization_fkey" FOREIGN KEY ("organization") REFERENCES "plinth_organization" ("id") ON DELETE CASCADE
)"""),
    ('PlinthApiToken', 'CREATE INDEX "plinth_api_token_user_idx" ON "plinth_api_token" ("user")'),
    ('PlinthApiToken', 'CREATE INDEX "plinth_api_token_organization_idx" ON "plinth_api_token" ("organization")'),
    ('PlinthTimeline', """CREATE TABLE "plinth_timeline" (
    "id" UUID PRIMARY KEY NOT NULL DEFAULT gen_random_uuid(),
    "tenant_id" UUID DEFAULT gen_random_uuid(),
    "entity" VARCHAR(100) NOT NULL DEFAULT '',
    "record_id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "actor_id" UUID DEFAULT gen_random_uuid(),
    "actor" VARCHAR(255) NOT NULL DEFAULT '',
    "event" VARCHAR(20) NOT NULL DEFAULT '',
    "transition" VARCHAR(100) DEFAULT '',
    "changes" JSON NOT NULL DEFAULT '{}',
    "request_id" VARCHAR(64) DEFAULT '',
    "at" TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
)"""),
    ('PlinthTimeline', 'CREATE INDEX "plinth_timeline_tenant_id_idx" ON "plinth_timeline" ("tenant_id")'),
    ('PlinthTimeline', 'CREATE INDEX "plinth_timeline_record_id_idx" ON "plinth_timeline" ("record_id")'),
    ('PlinthOutbox', """CREATE TABLE "plinth_outbox" (
    "id" UUID PRIMARY KEY NOT NULL DEFAULT gen_random_uuid(),
    "tenant_id" UUID DEFAULT gen_random_uuid(),
    "entity" VARCHAR(100) DEFAULT '',
    "record_id" UUID DEFAULT gen_random_uuid(),
    "event" VARCHAR(20) NOT NULL DEFAULT '',
    "transition" VARCHAR(100) DEFAULT '',
    "actor" VARCHAR(255) NOT NULL DEFAULT '',
    "payload" JSON NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    "available_at" TIMESTAMPTZ DEFAULT null,
    "claimed_at" TIMESTAMPTZ DEFAULT null,
    "claim_id" UUID DEFAULT null,
    "dispatched_at" TIMESTAMPTZ DEFAULT null,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_error" TEXT DEFAULT null
)"""),
    ('PlinthOutbox', 'CREATE INDEX "plinth_outbox_tenant_id_idx" ON "plinth_outbox" ("tenant_id")'),
    ('PlinthOutbox', 'CREATE INDEX "plinth_outbox_claim_id_idx" ON "plinth_outbox" ("claim_id")'),
    ('PlinthOutbox', 'CREATE INDEX "plinth_outbox_dispatched_at_idx" ON "plinth_outbox" ("dispatched_at")'),
    ('PlinthWorkflowRun', """CREATE TABLE "plinth_workflow_run" (
    "id" UUID PRIMARY KEY NOT NULL DEFAULT gen_random_uuid(),
    "event_id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "workflow" VARCHAR(100) NOT NULL DEFAULT '',
    "tenant_id" UUID DEFAULT gen_random_uuid(),
    "entity" VARCHAR(100) DEFAULT '',
    "record_id" UUID DEFAULT gen_random_uuid(),
    "status" VARCHAR(20) NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "steps" JSON NOT NULL DEFAULT '[]',
    "next_attempt_at" TIMESTAMPTZ DEFAULT null,
    "last_error" TEXT DEFAULT null,
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    "updated_at" TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
)"""),
    ('PlinthWorkflowRun', 'CREATE INDEX "plinth_workflow_run_event_id_idx" ON "plinth_workflow_run" ("event_id")'),
    ('PlinthWorkflowRun', 'CREATE INDEX "plinth_workflow_run_tenant_id_idx" ON "plinth_workflow_run" ("tenant_id")'),
    ('PlinthWorkflowRun', 'CREATE INDEX "plinth_workflow_run_record_id_idx" ON "plinth_workflow_run" ("record_id")'),
    ('PlinthWorkflowRun', 'CREATE UNIQUE INDEX "plinth_workflow_run_event_workflow" ON "plinth_workflow_run" ("event_id", "workflow")'),
    ('PlinthScheduleTick', """CREATE TABLE "plinth_schedule_tick" (
    "id" UUID PRIMARY KEY NOT NULL DEFAULT gen_random_uuid(),
    "workflow" VARCHAR(100) NOT NULL DEFAULT '',
    "tick" TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
)"""),
    ('PlinthScheduleTick', 'CREATE UNIQUE INDEX "plinth_schedule_tick_workflow_tick" ON "plinth_schedule_tick" ("workflow", "tick")'),
    ('PlinthTotp', """CREATE TABLE "plinth_totp" (
    "id" UUID PRIMARY KEY NOT NULL DEFAULT gen_random_uuid(),
    "user" UUID DEFAULT null,
    "secret" VARCHAR(64) NOT NULL DEFAULT '',
    "recovery_codes" TEXT NOT NULL DEFAULT '',
    "last_step" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    "confirmed_at" TIMESTAMPTZ DEFAULT null,
    CONSTRAINT "plinth_totp_user_fkey" FOREIGN KEY ("user") REFERENCES "plinth_user" ("id") ON DELETE CASCADE
)"""),
    ('PlinthTotp', 'CREATE INDEX "plinth_totp_user_idx" ON "plinth_totp" ("user")'),
    ('Contact', """CREATE TABLE "helpdesk"."contact" (
    "id" UUID PRIMARY KEY NOT NULL DEFAULT gen_random_uuid(),
    "tenant_id" UUID NOT NULL DEFAULT null,
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    "updated_at" TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    "created_by" UUID DEFAULT null,
    "updated_by" UUID DEFAULT null,
    "version" INTEGER NOT NULL DEFAULT 1,
    "name" VARCHAR(200) DEFAULT null,
    "email" VARCHAR(255) DEFAULT null
)"""),
    ('Contact', 'CREATE INDEX "contact_tenant_id_idx" ON "helpdesk"."contact" ("tenant_id")'),
    ('Ticket', """CREATE TABLE "helpdesk"."ticket" (
    "id" UUID PRIMARY KEY NOT NULL DEFAULT gen_random_uuid(),
    "tenant_id" UUID NOT NULL DEFAULT null,
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    "updated_at" TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    "created_by" UUID DEFAULT null,
    "updated_by" UUID DEFAULT null,
    "version" INTEGER NOT NULL DEFAULT 1,
    "subject" VARCHAR(200) DEFAULT null,
    "body" TEXT DEFAULT null,
    "status" VARCHAR(255) DEFAULT 'new',
    "priority" INTEGER DEFAULT 3,
    "contact" UUID DEFAULT null,
    "due_at" TIMESTAMPTZ DEFAULT null,
    "internal_notes" TEXT DEFAULT null,
    CONSTRAINT "ticket_contact_fkey" FOREIGN KEY ("contact") REFERENCES "helpdesk"."contact" ("id") ON DELETE SET NULL,
    CONSTRAINT "ticket_status_choices" CHECK ("status" IN ('new', 'open', 'closed')),
    CONSTRAINT "ticket_priority_range" CHECK ("priority" >= 1 AND "priority" <= 5)
)"""),
    ('Ticket', 'CREATE INDEX "ticket_tenant_id_idx" ON "helpdesk"."ticket" ("tenant_id")'),
    ('Ticket', 'CREATE INDEX "ticket_contact_idx" ON "helpdesk"."ticket" ("contact")'),
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
