"""Paths in `admin.list` (`contact.company.name`, `owner.email`) as columns of piccolo-admin's
list. piccolo-admin lists only a table's own columns, so the rows of `GET /api/tables/<t>/`
get one value per readable path (read with Piccolo's joins, inside the same tenant wall) and
the schema lists the paths where the definitions put them (admin/schema.py)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from piccolo.table import Table
from starlette.responses import Response

from admin.field_guard import is_readable_column
from runtime.access import Principal
from runtime.definitions.model import Entity
from runtime.service import RecordService


def readable_paths(
    service: RecordService, principal: Principal | None, entity: Entity, table: type[Table]
) -> list[str]:
    """The dotted names of `entity.admin.list` whose every step the principal may read."""
    return [
        path
        for path in entity.admin.list
        if "." in path
        and is_readable_column(service, principal, table._meta.get_column_by_name(path))
    ]


async def add_path_values(response: Response, table: type[Table], paths: list[str]) -> Response:
    """piccolo-admin's `{"rows": [...]}` with each row's value of each path (None: no row)."""
    if response.status_code != 200 or not paths:
        return response
    payload: dict[str, Any] = json.loads(bytes(response.body))
    rows = payload.get("rows")
    if not isinstance(rows, list) or not rows:
        return response
    ids = [uuid.UUID(str(row["id"])) for row in rows if isinstance(row, dict) and "id" in row]
    columns = [table._meta.get_column_by_name(path) for path in paths]
    key = table._meta.primary_key
    found = await table.select(key, *columns).where(key.is_in(ids)).run()
    values = {str(row["id"]): row for row in found}
    for row in rows:
        joined = values.get(str(row.get("id")), {})
        row.update({path: _plain(joined.get(path)) for path in paths})
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    return Response(
        json.dumps(payload), status_code=200, headers=headers, media_type="application/json"
    )


def _plain(value: Any) -> Any:
    return value if value is None or isinstance(value, str | int | float | bool) else str(value)
