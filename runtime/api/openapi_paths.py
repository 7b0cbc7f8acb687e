"""The paths and operations of the OpenAPI document for records: for each entity its list,
create, read, change, delete, timeline, (with states) transition and (with manual workflows)
action operations, (with file fields) file operations; and the workflow runs. /auth is
`openapi_auth`'s."""

from __future__ import annotations

from typing import Any

from runtime.api.openapi_common import (
    READ,
    WRITE,
    if_match,
    json_body,
    json_response,
    parameter,
    problems,
    ref,
    request_id,
)
from runtime.api.openapi_files import file_paths
from runtime.api.openapi_query import list_parameters, paging
from runtime.api.openapi_transfer import export_content, transfer_paths
from runtime.definitions.model import Entity, Workflow
from runtime.workflows.runs import STATUSES as RUN_STATUSES


def _page(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "data": {"type": "array", "items": record},
            "meta": {
                "type": "object",
                "properties": {
                    "next_cursor": {"type": ["string", "null"]},
                    "count": {"type": "integer"},
                    "count_exact": {"type": "boolean", "description": "false: an estimate"},
                },
            },
        },
    }


def _shape() -> list[dict[str, Any]]:
    """`fields` and `expand` of a read."""
    return [
        parameter("fields", "query", {"type": "string"}, "the fields to return"),
        parameter("expand", "query", {"type": "string"}, "references to inline"),
    ]


def _list_answer(entity: Entity, record: dict[str, Any]) -> dict[str, Any]:
    """A page as JSON, or (`?format=`) the export of every matching row."""
    answer = json_response(_page(record), f"A page of {entity.plural} (or, with ?format=, all)")
    answer["content"] |= export_content()
    return answer


def _collection(entity: Entity) -> dict[str, Any]:
    """/api/{slug}: list and create."""
    name, record = entity.name, ref(entity.name)
    return {
        "get": {
            "tags": [name],
            "summary": f"List {entity.plural}",
            "parameters": list_parameters(entity),
            "responses": {"200": _list_answer(entity, record), **problems(*READ)},
        },
        "post": {
            "tags": [name],
            "summary": f"Create a {entity.label}",
            "parameters": [request_id()],
            "requestBody": json_body(ref(f"{name}Create")),
            "responses": {"201": json_response(record, "Created"), **problems(*WRITE)},
        },
    }  # fmt: skip


def _item(entity: Entity, item_id: dict[str, Any]) -> dict[str, Any]:
    """/api/{slug}/{id}: read, change and delete (the last two with If-Match)."""
    name, record = entity.name, ref(entity.name)
    return {
        "parameters": [item_id],
        "get": {
            "tags": [name],
            "summary": f"Read a {entity.label}",
            "parameters": _shape(),
            "responses": {"200": json_response(record, entity.label), **problems(*READ)},
        },
        "patch": {
            "tags": [name],
            "summary": f"Change a {entity.label}",
            "parameters": [if_match(), request_id()],
            "requestBody": json_body(ref(f"{name}Patch")),
            "responses": {"200": json_response(record, "Changed"), **problems(*WRITE)},
        },
        "delete": {
            "tags": [name],
            "summary": f"Delete a {entity.label}",
            "parameters": [if_match(), request_id()],
            "responses": {"204": {"description": "Deleted"}, **problems(*READ, 409, 412)},
        },
    }


def _timeline(entity: Entity, item_id: dict[str, Any]) -> dict[str, Any]:
    """/api/{slug}/{id}/timeline."""
    entries = _page(ref("TimelineEntry"))
    return {
        "parameters": [item_id],
        "get": {
            "tags": [entity.name],
            "summary": "Who changed what, newest first",
            "parameters": paging(),
            "responses": {"200": json_response(entries, "Timeline"), **problems(*READ)},
        },
    }


def _transition(entity: Entity, item_id: dict[str, Any]) -> dict[str, Any]:
    """/api/{slug}/{id}/transitions/{name}, for an entity with states."""
    assert entity.states is not None
    names = [t.name for t in entity.states.transitions]
    step = parameter("name", "path", {"enum": names}, "the transition")
    return {
        "parameters": [item_id, step],
        "post": {
            "tags": [entity.name],
            "summary": "Move along a state transition",
            "parameters": [if_match(), request_id()],
            "responses": {"200": json_response(ref(entity.name), "Moved"),
                          **problems(*READ, 409, 412, 422)},
        },
    }  # fmt: skip


def _action(entity: Entity, item_id: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """/api/{slug}/{id}/actions/{workflow}, for an entity with manual workflows."""
    action = parameter("workflow", "path", {"enum": names}, "the manual workflow")
    return {
        "parameters": [item_id, action],
        "post": {
            "tags": [entity.name],
            "summary": "Start a manual workflow on the record",
            "description": "Needs the action in the role's `actions`; 409 when its `when` "
            "does not match the record as it is now.",
            "responses": {
                "202": {
                    "description": "The run, pending (Location: the run)",
                    "headers": {"Location": {"schema": {"type": "string"}}},
                    "content": {"application/json": {"schema": ref("WorkflowRun")}},
                },
                **problems(*READ, 409),
            },
        },
    }


def entity_paths(entity: Entity, workflows: dict[str, Workflow] | None = None) -> dict[str, Any]:
    """The paths of one entity's records (`workflows`: the project's, for its actions)."""
    slug = entity.slug
    item_id = parameter("id", "path", {"type": "string", "format": "uuid"}, f"{entity.name} id")
    paths: dict[str, Any] = {
        f"/api/{slug}": _collection(entity),
        f"/api/{slug}/{{id}}": _item(entity, item_id),
        f"/api/{slug}/{{id}}/timeline": _timeline(entity, item_id),
    }
    if entity.states:
        paths[f"/api/{slug}/{{id}}/transitions/{{name}}"] = _transition(entity, item_id)
    manual = [
        name
        for name, wf in (workflows or {}).items()
        if wf.on.event == "manual" and wf.on.entity == entity.name
    ]
    if manual:
        paths[f"/api/{slug}/{{id}}/actions/{{workflow}}"] = _action(entity, item_id, manual)
    paths |= file_paths(entity, item_id) | transfer_paths(entity, item_id)
    return paths


def run_paths() -> dict[str, Any]:
    """/api/workflow-runs and /api/workflow-runs/{id}."""
    run = ref("WorkflowRun")
    filters = [
        parameter("status", "query", {"enum": list(RUN_STATUSES)}, "the runs in this status"),
        parameter("workflow", "query", {"type": "string"}, "the workflow's name"),
        parameter("record", "query", {"type": "string", "format": "uuid"}, "a record's id"),
        *paging(),
    ]
    run_id = parameter("id", "path", {"type": "string", "format": "uuid"}, "the run's id")
    visible = "Runs of the caller's organization on entities their roles may read."
    return {
        "/api/workflow-runs": {
            "get": {
                "tags": ["workflows"],
                "summary": "List workflow runs, newest first",
                "description": visible,
                "parameters": filters,
                "responses": {"200": json_response(_page(run), "A page of runs"),
                              **problems(*READ)},
            }
        },
        "/api/workflow-runs/{id}": {
            "parameters": [run_id],
            "get": {
                "tags": ["workflows"],
                "summary": "Read a workflow run",
                "description": visible,
                "responses": {"200": json_response(run, "The run"), **problems(*READ)},
            },
        },
    }  # fmt: skip
