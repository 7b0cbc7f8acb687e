"""The login throttle in front of piccolo-admin's login (`/public/login/`): the same counters
as POST /auth/login and /auth/token (runtime/identity/throttle.py), per account and per IP.

piccolo-admin's own limiter is replaced by `NoLimit` (admin/app.py): it is per process,
counts successful logins too, and blocks an IP until the process restarts."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

from piccolo_api.rate_limiting.middleware import RateLimitProvider
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runtime.identity.throttle import LoginThrottle

LOGIN_PATHS = ("/public/login/", "/public/login")
MFA_REQUIRED = b'"MFA code required"'  # piccolo-api's answer to a right password alone


class NoLimit(RateLimitProvider):
    """For piccolo-admin's `rate_limit_provider`: LoginThrottleMiddleware does the limiting."""

    def increment(self, identifier: str) -> None:
        return None


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
    """Refuses a login with 429 (Retry-After) while the account or IP is over the limit,
    and counts every login that did not start a session as a failure, except piccolo-admin's
    "MFA code required" (the password was right; a wrong code then counts)."""

    def __init__(self, app: ASGIApp, throttle: LoginThrottle) -> None:
        self.app = app
        self.throttle = throttle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")[len(scope.get("root_path", "")) :]
        if scope["type"] != "http" or scope["method"] != "POST" or path not in LOGIN_PATHS:
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        username = await _username(scope, body)
        ip = scope["client"][0] if scope.get("client") else "unknown"
        wait = await self.throttle.retry_after(username, ip)
        if wait is not None:
            await _too_many(send, wait)
            return
        outcome: dict[str, object] = {}
        answer = bytearray()

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                outcome["status"] = message["status"]
                outcome["session"] = any(
                    name.lower() == b"set-cookie" and value.startswith(b"id=")
                    for name, value in message.get("headers", [])
                )
            elif message["type"] == "http.response.body" and len(answer) < 1024:
                answer.extend(message.get("body", b""))
            await send(message)

        await self.app(scope, _replay(body), watch)
        asks_code = outcome.get("status") == 401 and MFA_REQUIRED in answer
        if outcome.get("status") in (200, 401) and not outcome.get("session") and not asks_code:
            await self.throttle.failed(username, ip)


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


async def _too_many(send: Send, wait: int) -> None:
    body = json.dumps(
        {
            "type": "about:blank",
            "title": "Too many requests",
            "status": 429,
            "detail": f"too many failed logins: try again in {wait} seconds",
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(wait).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
