"""The admin's CSRF token bound to its session: with a session cookie, an unsafe request is
refused (403) unless its `csrftoken` cookie — and its `X-CSRFToken` header, when sent — is the
session's token (`sessions.csrf_token`, an HMAC of the session id). piccolo-admin's own
CSRFMiddleware and our pages' `check_csrf` then check that the header or form field equals
the cookie, so what a request sends is this session's token, never another session's.

Browsers need nothing: every response that sets a session cookie also sets its token, and a
page load with a cookie that is not the session's gets the right one."""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runtime.identity import sessions
from runtime.identity.keys import KeyRing

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
REFUSED = "the CSRF token does not belong to this session: reload the page"


class SessionCsrfMiddleware:
    def __init__(self, app: ASGIApp, keys: KeyRing, *, secure: bool) -> None:
        self.app = app
        self.keys = keys
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        session = conn.cookies.get(sessions.SESSION_COOKIE) or ""
        bound = bool(session) and self._bound(conn, session)
        if session and not bound and scope["method"] not in SAFE_METHODS:
            response = JSONResponse(
                {"type": "about:blank", "title": "Forbidden", "status": 403, "detail": REFUSED},
                status_code=403,
                media_type="application/problem+json",
            )
            await response(scope, receive, send)
            return
        stale = session if session and not bound else ""

        async def send_with_token(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                fresh = _session_set(headers) or stale
                if fresh:
                    self._set_token(headers, fresh)
            await send(message)

        await self.app(scope, receive, send_with_token)

    def _bound(self, conn: HTTPConnection, session: str) -> bool:
        cookie = conn.cookies.get(sessions.CSRF_COOKIE) or ""
        header = conn.headers.get(sessions.CSRF_HEADER)
        if header is not None and not sessions.is_csrf_token(self.keys, session, header):
            return False
        return sessions.is_csrf_token(self.keys, session, cookie)

    def _set_token(self, headers: MutableHeaders, session: str) -> None:
        """The session's token as the `csrftoken` cookie, replacing any other set here."""
        kept = [v for v in headers.getlist("set-cookie") if not _names(v, sessions.CSRF_COOKIE)]
        del headers["set-cookie"]
        for value in kept:
            headers.append("set-cookie", value)
        cookie = Response()
        token = sessions.csrf_token(self.keys, session)
        cookie.set_cookie(sessions.CSRF_COOKIE, token, secure=self.secure, samesite="lax")
        headers.append("set-cookie", cookie.headers["set-cookie"])


def _names(set_cookie: str, name: str) -> bool:
    return set_cookie.split("=", 1)[0].strip() == name


def _session_set(headers: MutableHeaders) -> str:
    """The session cookie this response sets (not one it deletes), else ""."""
    for value in headers.getlist("set-cookie"):
        if not _names(value, sessions.SESSION_COOKIE):
            continue
        try:
            morsel = SimpleCookie(value).get(sessions.SESSION_COOKIE)
        except CookieError:
            continue
        if morsel is not None and morsel.value and morsel["max-age"] not in ("0", 0):
            return morsel.value
    return ""
