"""The login gate in front of piccolo-admin's login: the same windows as POST /auth/login and
/auth/token (runtime/identity/throttle.py), per account and per IP.

piccolo-admin mounts its login endpoint at `/public/login/`, so every path under it (and the
redirect from `/public/login`) reaches the same password check: the gate takes every unsafe
request whose path, case-folded and with repeated slashes collapsed, starts there. Whatever
slips past it anyway cannot check a password: PlinthUserBase.login refuses outside the gate
(`throttle.admitted`). piccolo-admin's own limiter is replaced by `NoLimit` (admin/app.py):
it is per process, counts successful logins too, and blocks an IP until a restart."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs

from piccolo_api.rate_limiting.middleware import RateLimitProvider
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runtime.identity.passwords import HashingBusy
from runtime.identity.throttle import LoginThrottle, Throttled

LOGIN_PREFIX = "/public/login"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
MFA_REQUIRED = b'"MFA code required"'  # piccolo-api's answer to a right password alone


class NoLimit(RateLimitProvider):
    """For piccolo-admin's `rate_limit_provider`: LoginThrottleMiddleware does the limiting."""

    def increment(self, identifier: str) -> None:
        return None


def is_login_path(path: str) -> bool:
    """Whether `path` (inside the admin) is, or could route to, piccolo-admin's login."""
    folded = re.sub("/+", "/", path).lower().rstrip("/")
    return folded == LOGIN_PREFIX or folded.startswith(LOGIN_PREFIX + "/")


async def _username(scope: Scope, body: bytes) -> str:
    """The `username` of a JSON, urlencoded or multipart login body ("" when absent)."""
    content_type = dict(scope.get("headers", [])).get(b"content-type", b"").decode("latin-1")
    try:
        if "json" in content_type:
            value = json.loads(body or b"{}").get("username")
        elif "multipart" in content_type:
            value = (await Request(scope, _replay(body)).form()).get("username")
        else:
            value = parse_qs(body.decode("utf-8")).get("username", [""])[0]
    except (ValueError, AttributeError, UnicodeDecodeError, RecursionError):
        return ""
    return value if isinstance(value, str) else ""


class LoginThrottleMiddleware:
    """Refuses a login with 429 (Retry-After) while the account or IP is over the limit, or
    503 while the hashing pool is full; every other login that did not start a session
    stays counted as a failure, except piccolo-admin's "MFA code required" (the password
    was right; a wrong code then counts)."""

    def __init__(self, app: ASGIApp, throttle: LoginThrottle) -> None:
        self.app = app
        self.throttle = throttle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")[len(scope.get("root_path", "")) :]
        if (
            scope["type"] != "http"
            or scope["method"].upper() in SAFE_METHODS
            or not is_login_path(path)
        ):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        username = await _username(scope, body)
        ip = scope["client"][0] if scope.get("client") else "unknown"
        try:
            async with self.throttle.attempt(username, ip) as attempt:
                outcome = await self._login(scope, body, send)
                if outcome:
                    attempt.succeeded()
        except Throttled as refused:
            await _refuse(send, 429, "Too many requests", str(refused), refused.wait)
        except HashingBusy as busy:
            await _refuse(send, 503, "Service unavailable", str(busy), busy.wait)

    async def _login(self, scope: Scope, body: bytes, send: Send) -> bool:
        """piccolo-admin's answer, passed on; True when it started a session or asked for
        the MFA code (the password was right)."""
        status, session, answer = 0, False, bytearray()

        async def watch(message: Message) -> None:
            nonlocal status, session
            if message["type"] == "http.response.start":
                status = message["status"]
                session = any(
                    name.lower() == b"set-cookie" and value.startswith(b"id=")
                    for name, value in message.get("headers", [])
                )
            elif message["type"] == "http.response.body" and len(answer) < 1024:
                answer.extend(message.get("body", b""))
            await send(message)

        await self.app(scope, _replay(body), watch)
        return session or (status == 401 and MFA_REQUIRED in answer)


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _refuse(send: Send, status: int, title: str, detail: str, wait: int) -> None:
    body = json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(wait).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body.encode()})
