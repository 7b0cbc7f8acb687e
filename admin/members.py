"""The members page of the admin (/members/, linked from the sidebar): an organization's owners
add users, grant and revoke roles and end memberships (runtime/identity/members.py).

An owner manages the admin's active organization (admin/context.py) and no other: any
organization named in the request is ignored, and a membership id of another organization is
"no such member". A superuser may pick any organization (`org`, a slug)."""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from admin.context import current
from admin.pages import AccountPages, Refused, check_csrf, html_page
from admin.plinth_links import SIDEBAR_LINKS as PLINTH_LINKS
from runtime.access import Principal
from runtime.fields import as_uuid
from runtime.identity import members
from runtime.identity.accounts import AccountError
from runtime.schema.registry import Registry


async def _organization(registry: Registry, principal: Principal, asked: object) -> dict[str, Any]:
    """The organization this request manages: the owner's active one; for a superuser the
    one asked for (a slug), else the active one, else the first."""
    orgs = await members.organizations(registry)
    if principal.is_superuser:
        for org in orgs:
            if org["slug"] == asked:
                return org
    for org in orgs:
        if org["id"] == principal.tenant_id and _may_manage(principal):
            return org
    if principal.is_superuser and orgs:
        return orgs[0]
    raise Refused(403, "only an organization's owners manage its members")


SIDEBAR_LINKS = {"Members": "./members/"}  # relative to /admin/


def _may_manage(principal: Principal | None) -> bool:
    return principal is not None and (principal.is_superuser or "owner" in principal.roles)


def _principal() -> Principal:
    context = current.get()
    if context is None or context.principal is None:
        raise Refused(401, "sign in first")
    return context.principal


async def _act(registry: Registry, org_id: uuid.UUID, form: dict[str, Any]) -> str:
    """Runs the form's action; the message to show. Raises AccountError."""
    action, role = form.get("action"), str(form.get("role", ""))
    if action == "add":
        email = str(form.get("email", ""))
        member = await members.add_member(
            registry, org_id, email, role, password=str(form.get("password", "")) or None
        )
        return f"{member['email']} now has the role {role}"
    membership_id = as_uuid(form.get("membership_id"))
    if membership_id is None:
        raise AccountError(members.NO_MEMBER)
    if action == "grant":
        await members.grant(registry, org_id, membership_id, role)
        return f"role {role} granted"
    if action == "revoke":
        await members.revoke(registry, org_id, membership_id, role)
        return f"role {role} revoked"
    if action == "deactivate":
        await members.deactivate(registry, org_id, membership_id)
        return "membership ended"
    raise AccountError("unknown action")


def routes(pages: AccountPages) -> list[BaseRoute]:
    registry = pages.service.registry
    roles = ["owner", *sorted(registry.project.roles)]

    async def page(request: Request) -> Response:
        status, message, error = 200, None, None
        try:
            principal = _principal()
            form = await check_csrf(request) if request.method == "POST" else {}
            asked = form.get("org") or request.query_params.get("org")
            org = await _organization(registry, principal, asked)
            if request.method == "POST":
                try:
                    message = await _act(registry, org["id"], form)
                except AccountError as refused:
                    status, error = 422, str(refused)
        except Refused as refused:
            return html_page("members.html", status=refused.status, fatal=str(refused))
        return html_page(
            "members.html",
            status=status,
            message=message,
            error=error,
            org=org,
            orgs=await members.organizations(registry) if principal.is_superuser else [],
            members=await members.list_members(registry, org["id"]),
            roles=roles,
            csrftoken=request.cookies.get("csrftoken", ""),
        )

    async def links(request: Request) -> Response:
        """piccolo-admin's sidebar links (GET /api/links/): Plinth's overview and runs for
        the signed-in, Members for those who may use it."""
        context = current.get()
        principal = context.principal if context is not None else None
        if principal is None:
            return JSONResponse({})
        owners = SIDEBAR_LINKS if _may_manage(principal) else {}
        return JSONResponse({**PLINTH_LINKS, **owners})

    return [
        Route("/members/", page, methods=["GET", "POST"]),
        Route("/api/links/", links, methods=["GET"]),
    ]
