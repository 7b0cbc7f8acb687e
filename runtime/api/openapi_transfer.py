"""The OpenAPI operations of data in and out (runtime/api/imports.py): an import job per
collection and its status, and a record restored from its timeline. (An export is the list
itself with `?format=`: `openapi_paths` declares its media types.)"""

from __future__ import annotations

from typing import Any

from runtime.api.openapi_common import (
    READ,
    if_match,
    json_body,
    json_response,
    parameter,
    problems,
    ref,
    request_id,
)
from runtime.definitions.model import Entity
from runtime.transfer.export import MEDIA_TYPES

_TEXT = {"type": "string"}
JOB = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "entity": _TEXT,
        "status": _TEXT,
        "url": _TEXT,
        "options": {"type": ["object", "null"]},
        "report": {"type": ["object", "null"], "description": "when the job has finished"},
        "created_at": {"type": ["string", "null"], "format": "date-time"},
        "finished_at": {"type": ["string", "null"], "format": "date-time"},
    },
}


def export_content() -> dict[str, Any]:
    """The media types of a list asked `?format=`: every matching row, streamed."""
    return {media.split(";")[0]: {"schema": {"type": "string"}} for media in MEDIA_TYPES.values()}


def _flag(name: str, description: str) -> dict[str, Any]:
    return parameter(name, "query", {"enum": ["true", "false"]}, description)


def transfer_paths(entity: Entity, item_id: dict[str, Any]) -> dict[str, Any]:
    """/api/{slug}/import and /api/{slug}/{id}/restore."""
    started = {
        "description": "The job, running (Location: its status)",
        "headers": {"Location": {"schema": _TEXT}},
        "content": {"application/json": {"schema": JOB}},
    }
    lines = export_content()  # what an export gives, an import takes
    timeline_entry = {"type": "string", "description": "a timeline entry's id"}
    entry = {"type": "object", "required": ["entry"], "properties": {"entry": timeline_entry}}
    return {
        f"/api/{entity.slug}/import": {
            "post": {
                "tags": [entity.name],
                "summary": f"Import {entity.plural} from CSV or JSON lines (a background job)",
                "parameters": [
                    parameter("format", "query", {"enum": list(MEDIA_TYPES)}, "else by type"),
                    parameter("key", "query", _TEXT, "a unique field: update the rows it matches"),
                    _flag("dry_run", "check every row, write none"),
                    _flag("partial", "write the valid rows (else all or nothing)"),
                ],
                "requestBody": {"required": True, "content": lines},
                "responses": {"202": started, **problems(*READ, 413, 415)},
            }
        },
        f"/api/{entity.slug}/{{id}}/restore": {
            "parameters": [item_id],
            "post": {
                "tags": [entity.name],
                "summary": "Put the record back as a timeline entry left it (after a delete too)",
                "parameters": [if_match(), request_id()],
                "requestBody": json_body(entry),
                "responses": {"200": json_response(ref(entity.name), "Restored"),
                              **problems(*READ, 409, 412, 413, 422)},
            },
        },
    }  # fmt: skip


def import_status_path() -> dict[str, Any]:
    job_id = parameter("id", "path", {"type": "string", "format": "uuid"}, "the job's id")
    return {
        "/api/imports/{id}": {
            "parameters": [job_id],
            "get": {
                "tags": ["imports"],
                "summary": "An import job: its status and, when done, its report",
                "responses": {"200": json_response(JOB, "The job"), **problems(*READ)},
            },
        }
    }
