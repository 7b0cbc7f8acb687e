"""The request body limit, as ASGI middleware in front of every route: a declared
Content-Length over the limit is refused before the app runs, and a body streamed without
one is counted as it arrives and cut off at the limit. File uploads (/api/<slug>/<id>/files/)
have their own max_size and are left to it."""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runtime.api.problems import Problem
from runtime.limits import limits

FILE_ROUTE = re.compile(r"^/api/[^/]+/[^/]+/files/")


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


def _declared(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


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
            await self.app(scope, counted, guarded)
        except Exception:
            if not state["over"]:
                raise
        if state["over"]:
            await _refuse(send, BodyTooLarge(limit))
