"""PostgreSQL's second wall, as idempotent DDL applied by `plinth migrate`:

- the `plinth_app` role (NOLOGIN, no BYPASSRLS) that requests switch to, with its grants:
  full DML on the entities' tables, but on the platform's own tables only the statements that
  walled code issues (`APP_GRANTS`; docs/operators/security.md says why each) — so the
  timeline is append-only by privilege, not only by its trigger;
- a row-level-security policy on every tenant-scoped table, keyed on `plinth.tenant`;
- a trigger that makes the timeline append-only;
- a trigger that NOTIFYs `plinth_outbox` when events are written, so the workers' relay wakes
  at commit instead of waiting for its next poll (not security, but PostgreSQL's own DDL too);
- triggers that NOTIFY `plinth_identity` from every transaction that changes a user, an
  organization, a membership, or revokes or deletes an API token or a login, so that the
  servers' caches of callers forget at once (runtime/identity/cache.py).
"""

from __future__ import annotations

from piccolo.table import Table

from runtime.database import APP_ROLE
from runtime.identity.cache import IDENTITY_CHANNEL
from runtime.schema.registry import Registry

OUTBOX_CHANNEL = "plinth_outbox"  # NOTIFYed when events are written (workflows/wake.py)
TENANT = "NULLIF(current_setting('plinth.tenant', true), '')::uuid"

# What APP_ROLE may do on each platform table (by its Registry attribute), and no more: what
# code inside the wall issues — the tenant's admin requests (piccolo-admin's session check,
# Plinth's account, member and MFA pages), the service's writes, and the workflow runner's
# walled steps. Everything else on these tables runs as the connecting (owner) role.
APP_GRANTS: dict[str, str] = {
    "user": "SELECT, INSERT, UPDATE (password)",  # a member's invitation; a password change
    "organization": "SELECT",
    "membership": "SELECT, INSERT, UPDATE (roles), DELETE",  # the members page
    "session": "SELECT, INSERT, DELETE",  # the admin's session check, login and logout
    "refresh_token": 'SELECT ("user", family_id, revoked_at), UPDATE (revoked_at)',
    "api_token": "",
    "timeline": "SELECT, INSERT",  # append-only
    "outbox": "SELECT, INSERT",
    "workflow_run": "SELECT, INSERT, UPDATE",  # a manual start; a walled step's outcome
    "schedule_tick": "",
    "totp": "SELECT, INSERT, UPDATE (confirmed_at, last_step, recovery_codes), DELETE",
    "import_job": "SELECT, INSERT, UPDATE (status, report, finished_at)",  # an import's report
}


def _name(table: type[Table]) -> str:
    name: str = table._meta.get_formatted_tablename()
    return name


def role_ddl(role: str) -> list[str]:
    """Create `role` and grant it to the connecting role, if not yet done. Roles are the
    cluster's, not the database's: two `migrate`s of two databases may run these at once, and
    the one that waits on the other's uncommitted row then fails with unique_violation, not
    duplicate_object — both mean "already there"."""
    return [
        f"""DO $$ BEGIN CREATE ROLE {role} NOLOGIN;
            EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$""",
        f"""DO $$ BEGIN
              IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
                EXECUTE format('GRANT {role} TO %I', current_user);
              END IF;
            EXCEPTION WHEN unique_violation THEN NULL; END $$""",
    ]


def security_ddl(registry: Registry) -> list[str]:
    schemas = sorted({"public", *(e.module for e in registry.project.entities.values())})
    ddl = role_ddl(APP_ROLE)
    for schema in schemas:  # revoked first: a database migrated by an earlier version
        ddl += [
            f'GRANT USAGE ON SCHEMA "{schema}" TO {APP_ROLE}',
            f'REVOKE ALL ON ALL TABLES IN SCHEMA "{schema}" FROM {APP_ROLE}',
            f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "{schema}" TO {APP_ROLE}',
        ]
    for table in registry.entities.values():
        ddl.append(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {_name(table)} TO {APP_ROLE}")
    for role, privileges in APP_GRANTS.items():
        if privileges:
            table = getattr(registry, role)
            ddl.append(f"GRANT {privileges} ON {_name(table)} TO {APP_ROLE}")
    walled = [registry.table(e) for e in registry.project.entities.values() if e.tenant_scoped]
    for table in walled:
        ddl += _policy(_name(table), f"tenant_id = {TENANT}")
    for table in (registry.timeline, registry.outbox, registry.workflow_run, registry.import_job):
        ddl += _policy(_name(table), f"tenant_id IS NULL OR tenant_id = {TENANT}")
    timeline = _name(registry.timeline)
    ddl += [
        """CREATE OR REPLACE FUNCTION plinth_append_only() RETURNS trigger
           LANGUAGE plpgsql AS $$ BEGIN
             RAISE EXCEPTION 'the timeline is append-only: % refused', TG_OP
               USING ERRCODE = 'insufficient_privilege';
           END $$""",
        f"DROP TRIGGER IF EXISTS plinth_timeline_append_only ON {timeline}",
        f"""CREATE TRIGGER plinth_timeline_append_only BEFORE UPDATE OR DELETE ON {timeline}
            FOR EACH ROW EXECUTE FUNCTION plinth_append_only()""",
        f"DROP TRIGGER IF EXISTS plinth_timeline_no_truncate ON {timeline}",
        f"""CREATE TRIGGER plinth_timeline_no_truncate BEFORE TRUNCATE ON {timeline}
            FOR EACH STATEMENT EXECUTE FUNCTION plinth_append_only()""",
    ]
    outbox = _name(registry.outbox)
    ddl += [
        f"""CREATE OR REPLACE FUNCTION plinth_outbox_notify() RETURNS trigger
           LANGUAGE plpgsql AS $$ BEGIN
             PERFORM pg_notify('{OUTBOX_CHANNEL}', '');
             RETURN NULL;
           END $$""",
        f"DROP TRIGGER IF EXISTS plinth_outbox_notify ON {outbox}",
        f"""CREATE TRIGGER plinth_outbox_notify AFTER INSERT
            ON {outbox} FOR EACH STATEMENT EXECUTE FUNCTION plinth_outbox_notify()""",
    ]
    return ddl + _identity_triggers(registry)


def _identity_triggers(registry: Registry) -> list[str]:
    ddl = [
        f"""CREATE OR REPLACE FUNCTION plinth_identity_notify() RETURNS trigger
           LANGUAGE plpgsql AS $$ BEGIN
             PERFORM pg_notify('{IDENTITY_CHANNEL}', '');
             RETURN NULL;
           END $$""",
    ]
    whole = [registry.user, registry.organization, registry.membership]
    for table in whole:  # any change: activity, superuser, roles, slugs, memberships
        ddl += [
            f"DROP TRIGGER IF EXISTS plinth_identity_notify ON {_name(table)}",
            f"""CREATE TRIGGER plinth_identity_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
                ON {_name(table)} FOR EACH STATEMENT EXECUTE FUNCTION plinth_identity_notify()""",
        ]
    revocations = {  # not last_used_at, nor a rotation's used_at
        registry.api_token: "OLD.revoked_at IS DISTINCT FROM NEW.revoked_at",
        registry.refresh_token: "OLD.revoked_at IS DISTINCT FROM NEW.revoked_at "
        "OR OLD.expires_at IS DISTINCT FROM NEW.expires_at",
    }
    for table, revoked in revocations.items():
        ddl += [
            f"DROP TRIGGER IF EXISTS plinth_identity_notify ON {_name(table)}",
            f"""CREATE TRIGGER plinth_identity_notify AFTER UPDATE ON {_name(table)}
                FOR EACH ROW WHEN ({revoked}) EXECUTE FUNCTION plinth_identity_notify()""",
            f"DROP TRIGGER IF EXISTS plinth_identity_gone ON {_name(table)}",
            f"""CREATE TRIGGER plinth_identity_gone AFTER DELETE OR TRUNCATE ON {_name(table)}
                FOR EACH STATEMENT EXECUTE FUNCTION plinth_identity_notify()""",
        ]
    return ddl


def _policy(table: str, condition: str) -> list[str]:
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS plinth_tenant ON {table}",
        f"CREATE POLICY plinth_tenant ON {table} USING ({condition}) WITH CHECK ({condition})",
    ]
