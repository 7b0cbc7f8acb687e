"""What the admin's own pages share (admin/accounts.py, mfa.py, members.py): the signed-in
user, the CSRF check, the login gate, HTML templates.

These pages run behind AdminContextMiddleware (the signed-in user comes from the session
cookie) but in front of piccolo-admin's CSRF middleware, so each unsafe request checks the
double-submit token itself (`check_csrf`)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader
from starlette.requests import Request
from starlette.responses import HTMLResponse

from admin.context import SESSION_COOKIE, current
from runtime.access import Principal
from runtime.api.payloads import parse_json
from runtime.api.problems import Problem
from runtime.identity import accounts
from runtime.identity.digests import same_secret
from runtime.identity.passwords import HashingBusy
from runtime.identity.throttle import Attempt, LoginThrottle, Throttled
from runtime.service import RecordService

CSRF_COOKIE = "csrftoken"  # piccolo-api's CSRFMiddleware
CSRF_HEADER = "x-csrftoken"
templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True
)


@dataclass(frozen=True)
class AccountPages:
    """What the account routes share: the service, the login throttle, the site's name."""

    service: RecordService
    throttle: LoginThrottle
    site_name: str


class Refused(Exception):
    """An account request refused before it did anything; `status` and the message say why."""

    def __init__(self, status: int, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}


async def signed_in_user(request: Request) -> dict[str, Any]:
    """The active user of the request's admin session (Refused 401 without one)."""
    context = current.get()
    token = request.cookies.get(SESSION_COOKIE)
    if context is None or not token:
        raise Refused(401, "sign in first")
    registry = context.service.registry
    user_id = await registry.session.get_user_id(token)
    user = registry.user
    row: dict[str, Any] | None = (
        await user.select().where(user.id == user_id).first().run() if user_id else None
    )
    if row is None or not row["active"]:
        raise Refused(401, "sign in first")
    return row


async def check_csrf(request: Request) -> dict[str, Any]:
    """The form of an unsafe request whose CSRF token (header or `csrftoken` form field)
    matches the cookie; JSON bodies come back as the form too. Refused 403 otherwise."""
    body: dict[str, Any] = {}
    if "json" in request.headers.get("content-type", ""):
        try:
            parsed = parse_json(await request.body(), "the body")
        except Problem as problem:
            raise Refused(400, problem.detail) from None
        body = parsed if isinstance(parsed, dict) else {}
    else:
        body = dict(await request.form())
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = request.headers.get(CSRF_HEADER) or body.get("csrftoken") or ""
    if not cookie or not isinstance(sent, str) or not same_secret(cookie, sent):
        raise Refused(403, "the CSRF token is missing or wrong: reload the page")
    return body


def _ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@contextlib.asynccontextmanager
async def attempt(pages: AccountPages, request: Request, email: str) -> AsyncIterator[Attempt]:
    """The login gate (runtime/identity/throttle.py) around a password or code check of
    these pages: Refused 429 while the account or the client's IP is over the failed-login
    limit, 503 while the hashing pool is full. Call `succeeded()` once every check passed."""
    try:
        async with pages.throttle.attempt(email, _ip(request)) as held:
            yield held
    except Throttled as refused:
        wait = refused.wait
        raise Refused(429, f"too many failed attempts: try again in {wait} seconds", wait) from None
    except HashingBusy as busy:
        raise Refused(503, str(busy), busy.wait) from None


async def check_password(pages: AccountPages, user: dict[str, Any], password: str) -> None:
    """Refused 422 unless `password` is the user's (inside `attempt`)."""
    if await accounts.authenticate(pages.service.registry, user["email"], password) is None:
        raise Refused(422, "the password is wrong")


async def confirm_password(
    pages: AccountPages, request: Request, user: dict[str, Any], password: str
) -> None:
    """Refused (429, 503 or 422) unless `password` is the user's, throttled like a login."""
    async with attempt(pages, request, user["email"]) as held:
        await check_password(pages, user, password)
        held.succeeded()


PAGE_HEADERS = {
    "Cache-Control": "no-store",  # recovery codes, member lists: never from a cache
    "Content-Security-Policy": "frame-ancestors 'none'",  # no clickjacking of the forms
    "X-Frame-Options": "DENY",
}


def html_page(
    name: str, *, status: int = 200, headers: dict[str, str] | None = None, **context: object
) -> HTMLResponse:
    body = templates.get_template(name).render(**context)
    return HTMLResponse(body, status_code=status, headers=PAGE_HEADERS | (headers or {}))


def signed_in_principal() -> Principal:
    """The admin's Principal of this request (admin/context.py); Refused 401 without one."""
    context = current.get()
    if context is None or context.principal is None:
        raise Refused(401, "sign in first")
    return context.principal


def refused_page(name: str, refused: Refused) -> HTMLResponse:
    """Plinth's page `name` with only why it was refused."""
    context = current.get()
    root = context.root if context is not None else ""
    return html_page(name, status=refused.status, fatal=str(refused), root=root)
