"""The request body limit, as ASGI middleware in front of every route: a declared
Content-Length over the limit is refused before the app runs, and a body streamed without
one is counted as it arrives and cut off at the limit. File uploads (/api/<slug>/<id>/files/)
have their own max_size and are left to it."""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runtime.api.payloads import parse_json
from runtime.api.problems import Problem
from runtime.limits import limits

FILE_ROUTE = re.compile(r"^/api/[^/]+/([^/]+/files/|import$)")  # files, imports: own limits
ADMIN = "/admin/"


class BodyTooLarge(Problem):
    def __init__(self, limit: int) -> None:
        super().__init__(413, "Content too large", f"the body is larger than {limit} bytes")


async def _refuse(send: Send, problem: Problem) -> None:
    body = json.dumps({"type": "about:blank", "title": problem.title, "status": problem.status,
                       "detail": problem.detail}).encode()  # fmt: skip
    headers = [(b"content-type", b"application/problem+json"),
               (b"content-length", str(len(body)).encode()), (b"connection", b"close")]  # fmt: skip
    await send({"type": "http.response.start", "status": problem.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, wanted: bytes) -> bytes | None:
    for name, value in scope.get("headers", ()):
        if name == wanted:
            return bytes(value)
    return None


def _declared(scope: Scope) -> int | None:
    value = _header(scope, b"content-length")
    return int(value) if value is not None and value.isdigit() else None


async def _checked_json(scope: Scope, receive: Receive) -> Receive:
    """The whole body, refused (Problem) unless within the JSON limits, then replayed."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    if body.strip():
        parse_json(body, "the body")
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _admin_json(scope: Scope) -> bool:
    content_type = _header(scope, b"content-type") or b""
    return scope.get("path", "").startswith(ADMIN) and b"json" in content_type


class BodyLimit:
    """413 problem+json for a body over `limits().body_bytes`, whichever app would read it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or FILE_ROUTE.match(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        limit = limits().body_bytes
        declared = _declared(scope)
        if declared is not None and declared > limit:
            await _refuse(send, BodyTooLarge(limit))
            return
        state: dict[str, Any] = {"seen": 0, "over": False}

        async def counted() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                state["seen"] += len(message.get("body", b""))
                if state["seen"] > limit:
                    state["over"] = True
                    raise BodyTooLarge(limit)
            return message

        async def guarded(message: Message) -> None:
            if not state["over"]:  # once over, whatever the app answers gives way to the 413
                await send(message)

        try:
            if _admin_json(scope):
                try:
                    replay = await _checked_json(scope, counted)
                except BodyTooLarge:
                    raise
                except Problem as problem:
                    await _refuse(send, problem)
                    return
                await self.app(scope, replay, guarded)
            else:
                await self.app(scope, counted, guarded)
        except Exception:
            if not state["over"]:
                raise
        if state["over"]:
            await _refuse(send, BodyTooLarge(limit))
