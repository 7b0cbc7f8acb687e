"""Two-factor login in the admin: piccolo-admin's MFA hook backed by runtime/identity/totp.py,
and the "MFA Setup" page of its user menu (/api/mfa-setup/).

piccolo_api's own AuthenticatorProvider keeps its secrets in a table keyed by an integer user
id (ours are UUIDs), hashes recovery codes with PBKDF2 and turns MFA on before the user has
proved the app works; so the provider here only answers piccolo-admin's login questions, and
the setup page is ours: password, then QR code and recovery codes, then a first code."""

from __future__ import annotations

from typing import Any

from piccolo_api.mfa.provider import MFAProvider
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from admin.pages import (
    AccountPages,
    Refused,
    attempt,
    check_csrf,
    check_password,
    confirm_password,
    html_page,
    signed_in_user,
)
from runtime.fields import as_uuid
from runtime.identity import totp
from runtime.schema.registry import Registry


class TotpProvider(MFAProvider):
    """For piccolo-admin's login: an enrolled user must send `mfa_code` (a TOTP or recovery
    code). A wrong code answers 401 without a session, which the login throttle counts."""

    def __init__(self, registry: Registry) -> None:
        super().__init__(name="Authenticator app")
        self.registry = registry

    async def authenticate_user(self, user: Any, code: str) -> bool:
        return isinstance(code, str) and await totp.verify(self.registry, user.id, code)

    async def is_user_enrolled(self, user: Any) -> bool:
        return await totp.is_enrolled(self.registry, user.id)

    async def send_code(self, user: Any) -> bool:
        return False  # the code is in the user's app

    # piccolo-api's own enrolment endpoint would call these two; `routes` below serves the
    # whole /api/mfa-setup prefix first, so they only point there.
    async def get_registration_html(self, user: Any) -> str:
        return '<p>Set up two-factor sign-in at <a href="./">MFA Setup</a>.</p>'

    async def get_registration_json(self, user: Any) -> dict[str, Any]:
        return {"setup": "/admin/api/mfa-setup/"}

    async def delete_registration(self, user: Any) -> None:
        await totp.disable(self.registry, user.id)


def routes(pages: AccountPages) -> list[BaseRoute]:
    async def setup(request: Request) -> Response:
        try:
            user = await signed_in_user(request)
            if request.method == "GET":
                return await _status_page(pages, request, user)
            return await _act(pages, request, user, await check_csrf(request))
        except Refused as refused:
            return html_page(
                "mfa.html",
                status=refused.status,
                headers=refused.headers,
                error=str(refused),
                step="error",
            )

    # a Mount, so that no path under it reaches piccolo-admin's own MFA endpoint (whose
    # "revoke" would turn MFA off with the password alone)
    return [Mount("/api/mfa-setup", routes=[Route("/", setup, methods=["GET", "POST"])])]


async def _status_page(
    pages: AccountPages, request: Request, user: dict[str, Any], message: str | None = None
) -> Response:
    registry = pages.service.registry
    enrolled = await totp.is_enrolled(registry, user["id"])
    return html_page(
        "mfa.html",
        step="enrolled" if enrolled else "start",
        codes_left=await totp.recovery_codes_left(registry, user["id"]),
        csrftoken=request.cookies.get("csrftoken", ""),
        message=message,
    )


async def _act(
    pages: AccountPages, request: Request, user: dict[str, Any], form: dict[str, Any]
) -> Response:
    registry = pages.service.registry
    action = form.get("action")
    csrf = request.cookies.get("csrftoken", "")
    if action == "start":
        await confirm_password(pages, request, user, str(form.get("password", "")))
        if await totp.is_enrolled(registry, user["id"]):
            raise Refused(409, "two-factor login is already on: turn it off first")
        enrolment = await totp.start_enrolment(registry, user["id"], issuer=pages.site_name)
        return html_page("mfa.html", step="confirm", enrolment=enrolment, csrftoken=csrf)
    if action == "confirm":
        enrolment_id = as_uuid(form.get("enrolment_id"))
        code = str(form.get("code", ""))
        async with attempt(pages, request, user["email"]) as held:
            if enrolment_id is None or not await totp.confirm_enrolment(
                registry, user["id"], enrolment_id, code
            ):
                raise Refused(422, "that code is not the app's current one: start again")
            held.succeeded()
        return await _status_page(pages, request, user, message="Two-factor login is on.")
    if action == "disable":
        async with attempt(pages, request, user["email"]) as held:
            await check_password(pages, user, str(form.get("password", "")))
            if not await totp.verify(registry, user["id"], str(form.get("code", ""))):
                raise Refused(422, "the code is wrong")
            held.succeeded()
        await totp.disable(registry, user["id"])
        return await _status_page(pages, request, user, message="Two-factor login is off.")
    raise Refused(400, "unknown action")
