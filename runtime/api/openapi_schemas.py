"""The JSON Schemas of the OpenAPI document's components: each entity's record, create and
patch bodies (from its fields), and the fixed Problem, TimelineEntry and WorkflowRun."""

from __future__ import annotations

from typing import Any

from runtime.definitions.model import Entity, Field
from runtime.fields import openapi_schema
from runtime.workflows.runs import STATUSES as RUN_STATUSES

_SYSTEM: dict[str, dict[str, Any]] = {
    "id": {"type": "string", "format": "uuid"},
    "tenant_id": {"type": "string", "format": "uuid"},
    "created_at": {"type": "string", "format": "date-time"},
    "updated_at": {"type": "string", "format": "date-time"},
    "created_by": {"type": ["string", "null"], "format": "uuid"},
    "updated_by": {"type": ["string", "null"], "format": "uuid"},
    "version": {"type": "integer"},
}


def field_schema(field: Field) -> dict[str, Any]:
    schema = openapi_schema(field)  # the type's schema, choices and length: runtime.fields
    if field.min_length is not None:
        schema["minLength"] = field.min_length
    if field.pattern:
        schema["pattern"] = field.pattern
    if field.min is not None:
        schema["minimum"] = field.min
    if field.max is not None:
        schema["maximum"] = field.max
    if field.help:
        schema["description"] = field.help
    schema["title"] = field.label
    return schema


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if "enum" in schema:
        return schema | {"enum": [*schema["enum"], None]}
    if "type" in schema:
        return schema | {"type": [schema["type"], "null"]}
    return schema


def _input(field: Field) -> dict[str, Any]:
    """A written field's schema; a file is uploaded to its own route, so only null (remove
    the file) may be written."""
    if field.type == "file":
        return {
            "type": "null",
            "title": field.label,
            "description": f"upload with PUT|POST .../files/{field.name}; null removes the file",
        }
    return _nullable(field_schema(field))


def record_schemas(entity: Entity) -> dict[str, Any]:
    visible = [f for f in entity.fields if not f.hidden]
    system = {k: v for k, v in _SYSTEM.items() if k != "tenant_id" or entity.tenant_scoped}
    record = {
        "type": "object",
        "properties": system | {f.name: _nullable(field_schema(f)) for f in visible},
    }
    state = entity.states.field if entity.states else None
    writable = [f for f in entity.fields if not f.read_only and f.name != state]
    create = {
        "type": "object",
        "additionalProperties": False,
        "properties": {f.name: _input(f) for f in writable},
        "required": [f.name for f in writable if f.required and not f.has_default],
    }
    patch = create | {"required": []}
    return {entity.name: record, f"{entity.name}Create": create, f"{entity.name}Patch": patch}


def fixed_schemas() -> dict[str, Any]:
    """The schemas every document has, whatever the entities: Problem, TimelineEntry and
    WorkflowRun."""
    return {
        "Problem": {
            "type": "object",
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "errors": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "field": {"type": "string"},
                            "code": {"type": "string"},
                            "message": {"type": "string"},
                        },
                    },
                },
            },
        },
        "TimelineEntry": {
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "at": {"type": "string", "format": "date-time"},
                "actor": {"type": "string"},
                "event": {"type": "string"},
                "transition": {"type": ["string", "null"]},
                "changes": {"type": "object"},
            },
        },
        "WorkflowRun": _workflow_run(),
    }


def _workflow_run() -> dict[str, Any]:
    text, when = {"type": ["string", "null"]}, {"type": ["string", "null"], "format": "date-time"}
    return {
        "type": "object",
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "workflow": {"type": "string"},
            "status": {"enum": list(RUN_STATUSES)},
            "attempts": {"type": "integer"},
            "entity": text,
            "record_id": {"type": ["string", "null"], "format": "uuid"},
            "last_error": text,
            "steps": {"type": "array", "items": {"type": "object"}},
            "next_attempt_at": when,
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
        },
    }
