"""Reading request bodies and JSON query values, within the limits (runtime/limits.py)."""

from __future__ import annotations

import base64
import json
from typing import Any

from starlette.requests import Request

from runtime.api.problems import Problem
from runtime.limits import limits


class _TooBig(ValueError):
    """A number literal longer than the limit, raised from the parser's hooks."""


def _number(kind: type[int] | type[float]) -> Any:
    def parse(text: str) -> int | float:
        if len(text) > limits().number_digits:
            raise _TooBig(f"a number has {len(text)} digits, more than {limits().number_digits}")
        return kind(text)

    return parse


_PARSE_INT, _PARSE_FLOAT = _number(int), _number(float)


def _depth(value: Any) -> int:
    """How deeply objects and arrays nest in `value` (iterative: no recursion to exhaust)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, depth)
            children = node.values() if isinstance(node, dict) else node
            stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return deepest


def parse_json(text: bytes | str, what: str, title: str = "Bad request") -> Any:
    """JSON within the depth and number limits; 400 problem+json naming what is wrong."""
    bound = limits().json_depth
    try:
        value = json.loads(text, parse_int=_PARSE_INT, parse_float=_PARSE_FLOAT)
    except _TooBig as error:
        raise Problem(400, title, f"{what}: {error}") from None
    except RecursionError:
        raise Problem(400, title, f"{what}: nested deeper than {bound} levels") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise Problem(400, title, f"{what}: not valid JSON") from None
    if _depth(value) > bound:
        raise Problem(400, title, f"{what}: nested deeper than {bound} levels")
    return value


async def read_json(request: Request) -> dict[str, Any]:
    """The body as a JSON object; 400 problem+json otherwise. The body limit is enforced
    while it is read (runtime/api/body_limit.py)."""
    body = parse_json(await request.body() or b"null", "the body")
    if not isinstance(body, dict):
        raise Problem(400, "Bad request", "the body must be a JSON object")
    return body


def decode_cursor(raw: str | None) -> int:
    """The offset a ?cursor= this API gave names; 400 for anything else, such as an offset
    past what the database can take."""
    if not raw:
        return 0
    bounds = limits()
    invalid = Problem(400, "Bad query", "cursor: not a cursor this API gave")
    if len(raw) > bounds.cursor_chars:
        raise invalid
    try:
        text = base64.urlsafe_b64decode(raw.encode("ascii")).decode("ascii")
    except (ValueError, UnicodeError):
        raise invalid from None
    if not text.isdigit() or len(text) > 18 or int(text) > bounds.cursor_offset:
        raise invalid
    return int(text)
