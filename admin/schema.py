"""The table schema piccolo-admin's front-end builds its list and forms from
(`GET /api/tables/<t>/schema/`), shaped by the definitions and the caller's role.

The front-end reads a field's `title` (column header and form label), `extra.help_text` (the
"?" tooltip) and the schema's `required` list (the "*" marker), and lists the columns of
`extra.visible_column_names`, linking `extra.link_column_name` to the edit page. Piccolo's
model knows none of the definitions' labels or required fields (every column is nullable: the
service enforces `required`), and its visible columns are the same for every role, so a column
the role cannot read showed "undefined" in every row."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

from runtime.definitions.model import Entity


def shape_schema(
    response: Response,
    entity: Entity,
    unreadable: set[str],
    paths: list[str],
    *,
    read_only: dict[str, Any],
) -> Response:
    """piccolo's schema response with the entity's labels, help and required fields, and only
    the columns the caller may read listed, readable `paths` among them where `admin.list`
    names them (the link on `id` if the link's column is not readable)."""
    if response.status_code != 200:
        return response
    payload: dict[str, Any] = json.loads(bytes(response.body))
    properties = payload.setdefault("properties", {})
    properties.update({k: v for k, v in read_only.items() if k not in properties})
    for field in entity.fields:
        spec = properties.get(field.name)
        if spec is None:
            continue
        spec["title"] = field.label
        if field.help:
            spec.setdefault("extra", {})["help_text"] = field.help
    payload["required"] = [f.name for f in entity.fields if f.required and f.name in properties]
    extra = payload.setdefault("extra", {})
    for key in ("visible_column_names", "visible_filter_names"):
        if key in extra:
            extra[key] = [name for name in extra[key] if name not in unreadable]
    for path in paths:  # the list needs a property per column (the form hides these)
        properties[path] = {
            "title": path.replace(".", " ").replace("_", " ").capitalize(),
            "type": "string",
            "extra": {"choices": None, "nullable": True, "secret": False, "unique": False},
        }
    if paths and "visible_column_names" in extra:
        extra["visible_column_names"] = _with_paths(extra["visible_column_names"], entity, paths)
    for key in ("visible_column_names", "visible_filter_names"):  # the front-end reads the
        if key in extra:  # property of each (an entity without `admin.list` lists them all)
            keep = {"id", extra.get("link_column_name"), *properties}
            extra[key] = [name for name in extra[key] if name in keep]
    if extra.get("link_column_name") in unreadable:
        extra["link_column_name"] = "id"
        if "id" not in extra.get("visible_column_names", ["id"]):
            extra["visible_column_names"].insert(0, "id")
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    return Response(
        json.dumps(payload), status_code=200, headers=headers, media_type="application/json"
    )


def _with_paths(visible: list[str], entity: Entity, paths: list[str]) -> list[str]:
    """`visible` (the link column first, then `admin.list`'s own fields) with the `paths`
    put back where `admin.list` names them."""
    lead = [name for name in visible[:1] if name not in entity.admin.list]
    shown = set(visible) | set(paths)
    return [*lead, *(name for name in entity.admin.list if name in shown)]
