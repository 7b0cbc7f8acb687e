"""Reading request bodies."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from runtime.api.problems import Problem


async def read_json(request: Request) -> dict[str, Any]:
    """The body as a JSON object; 400 problem+json otherwise."""
    try:
        body = json.loads(await request.body() or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise Problem(400, "Bad request", "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise Problem(400, "Bad request", "the body must be a JSON object")
    return body
