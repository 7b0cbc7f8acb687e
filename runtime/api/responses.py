"""JSON responses encoded by orjson: several times faster than the standard library's encoder
on the records' dicts and lists, with the same compact output."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse


class FastJSON(JSONResponse):
    """A JSONResponse rendered by orjson (UTF-8, no spaces, as Starlette's own)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
