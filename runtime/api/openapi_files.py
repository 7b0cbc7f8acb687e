"""The OpenAPI operations of /api/<slug>/{id}/files/{field}, for an entity with file fields:
upload (PUT or POST), download (GET), remove (DELETE)."""

from __future__ import annotations

from typing import Any

from runtime.api.openapi_common import READ, if_match, problems
from runtime.definitions.model import Entity

_IF_MATCH = if_match()


def _upload(entity: Entity) -> dict[str, Any]:
    record = {"$ref": f"#/components/schemas/{entity.name}"}
    return {
        "tags": [entity.name],
        "summary": "Upload the field's file (replacing any)",
        "description": "multipart/form-data with one file part, or the file itself as the body "
        "with its Content-Type (name: Content-Disposition's filename, or ?name=). The type is "
        "sniffed from the content and must be one the field's `accept` lists.",
        "parameters": [
            _IF_MATCH,
            {
                "name": "name",
                "in": "query",
                "schema": {"type": "string"},
                "description": "the file name, for a raw body",
            },
        ],
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                },
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            },
        },
        "responses": {
            "200": {
                "description": "The record, with the file",
                "content": {"application/json": {"schema": record}},
            },
            **problems(*READ, 409, 412, 413, 415, 422, 503),
        },
    }


def file_paths(entity: Entity, item_id: dict[str, Any]) -> dict[str, Any]:
    """The path of the entity's files; empty when it has no file field."""
    names = [f.name for f in entity.fields if f.type == "file" and not f.hidden]
    if not names:
        return {}
    field = {
        "name": "field",
        "in": "path",
        "required": True,
        "schema": {"enum": names},
        "description": "the file field",
    }
    upload = _upload(entity)
    download = {
        "tags": [entity.name],
        "summary": "Download the field's file",
        "description": "The file, streamed as an attachment (ETag: its sha256), or a 302 to a "
        "short-lived URL of the storage.",
        "responses": {
            "200": {
                "description": "The file",
                "content": {
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
                },
            },
            "302": {"description": "Redirect to a short-lived URL serving the file"},
            "304": {"description": "Not modified (If-None-Match)"},
            **problems(*READ, 503),
        },
    }
    remove = {
        "tags": [entity.name],
        "summary": "Remove the field's file",
        "parameters": [_IF_MATCH],
        "responses": {"204": {"description": "Removed"}, **problems(*READ, 409, 412, 503)},
    }
    operations = {"get": download, "put": upload, "post": upload, "delete": remove}
    return {
        f"/api/{entity.slug}/{{id}}/files/{{field}}": {"parameters": [item_id, field], **operations}
    }
