"""The admin's account routes, in front of piccolo-admin's own: change password, MFA setup
(admin/mfa.py) and the members page (admin/members.py). piccolo-admin's change-password
endpoint assumes integer user ids (ours are UUIDs: it answered 500) and ends every session,
the current one too; this one calls runtime/identity and ends the others only."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from admin import members, mfa
from admin.context import SESSION_COOKIE
from admin.pages import (
    AccountPages,
    Refused,
    attempt,
    check_csrf,
    signed_in_user,
)
from runtime.identity import accounts


def change_password(pages: AccountPages) -> Callable[[Request], Awaitable[Response]]:
    """POST /api/change-password/ as piccolo-admin's front-end sends it (JSON: current,
    new and confirmation); answers {detail} like piccolo-admin. Other sessions end."""

    async def endpoint(request: Request) -> Response:
        try:
            user = await signed_in_user(request)
            body = await check_csrf(request)
            fields = [
                body.get(k) for k in ("current_password", "new_password", "confirm_new_password")
            ]
            if not all(isinstance(v, str) and v for v in fields):
                raise Refused(422, "Form is invalid. Missing one or more fields.")
            current_pw, new, again = (str(v) for v in fields)
            if new != again:
                raise Refused(422, "Passwords do not match.")
            async with attempt(pages, request, user["email"]) as held:
                try:
                    await accounts.change_password(
                        pages.service.registry,
                        user["id"],
                        current_pw,
                        new,
                        keep_session=request.cookies.get(SESSION_COOKIE),
                    )
                except accounts.WrongPassword as error:
                    raise Refused(422, str(error)) from None
                except accounts.AccountError as error:
                    held.succeeded()  # the new password was refused before any check
                    raise Refused(422, str(error)) from None
                held.succeeded()
        except Refused as refused:
            return JSONResponse(
                {"detail": str(refused)}, status_code=refused.status, headers=refused.headers
            )
        return JSONResponse({"detail": "password changed; your other sessions have ended"})

    return endpoint


def account_routes(pages: AccountPages) -> list[BaseRoute]:
    return [
        Route("/api/change-password/", change_password(pages), methods=["POST"]),
        *mfa.routes(pages),
        *members.routes(pages),
    ]
