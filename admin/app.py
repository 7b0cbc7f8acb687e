"""Assemble piccolo-admin from the Model: one TableConfig per entity."""

from __future__ import annotations

import datetime as dt
import secrets

import piccolo_admin.endpoints as admin_endpoints
from piccolo_admin.endpoints import TableConfig, create_admin
from piccolo_api.crud.endpoints import OrderBy
from starlette.routing import Mount, Router
from starlette.types import ASGIApp

from admin.accounts import account_routes
from admin.context import AdminContextMiddleware
from admin.crud import TenantCRUD
from admin.csrf import SessionCsrfMiddleware
from admin.files import routes as file_routes
from admin.files import with_file_widget
from admin.home_page import routes as home_routes
from admin.login_throttle import LoginThrottleMiddleware, NoLimit
from admin.mfa import TotpProvider
from admin.pages import AccountPages
from admin.plinth_links import with_plinth_links
from admin.record_page import routes as record_routes
from admin.roles import routes as role_routes
from admin.roles import with_role_script
from admin.runs_page import routes as run_routes
from runtime.definitions.model import Entity
from runtime.identity.keys import KeyRing
from runtime.identity.throttle import LoginThrottle
from runtime.schema.entities import readable_template
from runtime.service import RecordService


def table_config(service: RecordService, entity: Entity) -> TableConfig:
    table = service.registry.table(entity)
    columns = [getattr(table, n) for n in entity.admin.list if hasattr(table, n)]
    filters = [getattr(table, n) for n in entity.admin.filters if hasattr(table, n)]
    order = entity.admin.order or "-created_at"
    # Rows link to their edit page by the `display` field (e.g. the subject), not the id.
    shown = readable_template(entity)
    link = getattr(table, shown[1][0]) if shown and shown[1][0] in entity.admin.list else None
    return TableConfig(
        table_class=table,
        visible_columns=[link or table.id, *(c for c in columns if c is not link)]
        if columns
        else None,
        link_column=link,
        visible_filters=filters or None,
        menu_group=entity.module.replace("_", " ").title(),
        order_by=[OrderBy(getattr(table, order.lstrip("-")), ascending=not order.startswith("-"))],
    )


# Routes that call the service (which walls its own units) rather than run queries of their
# own: a file streaming in or out, and Plinth's pages (a retry runs a workflow's transactions).
UNWALLED = ("/api/plinth/files/", "/plinth/")


def build_admin(
    service: RecordService,
    *,
    site_name: str,
    production: bool,
    throttle: LoginThrottle | None = None,
    keys: KeyRing | None = None,
) -> ASGIApp:
    """The admin ASGI app, to mount at /admin. Its sessions are Plinth's (the same table and
    cookie as POST /auth/login), last `session_ttl`, its CSRF tokens are bound to them
    with `keys` (admin/csrf.py; the API's, so that one login serves both), and its login is
    throttled like ours and asks enrolled users for a TOTP code. Our account pages
    (admin/accounts.py) answer before piccolo-admin's routes."""
    # piccolo-admin imports the name without exporting it; see admin/crud.py for the swap
    admin_endpoints.PiccoloCRUD = TenantCRUD  # type: ignore[attr-defined]
    registry = service.registry
    throttle = throttle or LoginThrottle(None)
    ttl = dt.timedelta(seconds=registry.project.platform.session_ttl_seconds)
    app = create_admin(
        tables=[table_config(service, e) for e in registry.project.entities.values()],
        auth_table=registry.user,
        session_table=registry.session,
        session_expiry=ttl,
        max_session_expiry=ttl,
        increase_expiry=None,
        rate_limit_provider=NoLimit(),
        site_name=site_name,
        production=production,
        mfa_providers=[TotpProvider(registry)],
    )
    guarded = LoginThrottleMiddleware(app, throttle)
    pages = AccountPages(service=service, throttle=throttle, site_name=site_name)
    app.template = with_plinth_links(with_file_widget(with_role_script(app.template)))
    front = Router(
        routes=[
            *account_routes(pages),
            *role_routes(service),
            *file_routes(),
            *home_routes,
            *record_routes,
            *run_routes,
            Mount("", app=guarded),
        ]
    )
    walled = AdminContextMiddleware(front, service, unwalled=UNWALLED)
    keys = keys or KeyRing.parse(secrets.token_urlsafe(48))  # an admin of its own
    return SessionCsrfMiddleware(walled, keys, secure=production)
