"""piccolo-admin's JSON answers of rows (`{"rows": [...]}` or one row), rewritten row by row:
what the admin hides or shows otherwise is decided where the rows leave piccolo-admin."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.responses import Response


def rewrite_rows(
    response: Response, change: Callable[[dict[str, Any]], dict[str, Any]]
) -> Response:
    """`response` (a 200 of piccolo-admin's JSON API) with `change` applied to each row."""
    if response.status_code != 200:
        return response
    payload = json.loads(bytes(response.body))

    def each(row: Any) -> Any:
        return change(row) if isinstance(row, dict) else row

    if isinstance(payload, dict) and isinstance(payload.get("rows"), list):
        payload["rows"] = [each(row) for row in payload["rows"]]
    else:
        payload = each(payload)
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    return Response(
        json.dumps(payload), status_code=200, headers=headers, media_type="application/json"
    )
