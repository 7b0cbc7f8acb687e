"""The paths and operations of the OpenAPI document: /auth/token, for each entity its list,
create, read, change, delete, timeline, (with states) transition and (with manual workflows)
action operations, (with file fields) file operations, and the workflow runs."""

from __future__ import annotations

from typing import Any

from runtime.api.openapi_files import file_paths
from runtime.definitions.model import Entity, Workflow


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _body(schema_name: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(schema_name)}}}


PROBLEM = {
    "description": "A problem (RFC 9457)",
    "content": {"application/problem+json": {"schema": _ref("Problem")}},
}
ERRORS = {str(code): PROBLEM for code in (400, 401, 403, 404)}


def _parameter(name: str, where: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": where, "schema": schema, "description": description}


def _if_match() -> dict[str, Any]:
    return _parameter("If-Match", "header", {"type": "string"}, 'the ETag read, W/"<version>"')


def _paging() -> list[dict[str, Any]]:
    return [
        _parameter("limit", "query", {"type": "integer", "minimum": 1, "maximum": 500}, ""),
        _parameter("cursor", "query", {"type": "string"}, "meta.next_cursor of a page"),
    ]


def _listing() -> list[dict[str, Any]]:
    """The query parameters of a list: filter, search, sort, page and shape."""
    return [
        _parameter("filter", "query", {"type": "string"}, "a filter (SPEC §1.3) as JSON"),
        _parameter("search", "query", {"type": "string"}, "text to look for"),
        _parameter("sort", "query", {"type": "string"}, "e.g. -due_at,contact.name"),
        *_paging(),
        _parameter("fields", "query", {"type": "string"}, "e.g. id,subject,contact.name"),
        _parameter("expand", "query", {"type": "string"}, "references to inline"),
        _parameter(
            "count", "query", {"enum": ["true", "estimate"]}, "add meta.count (estimate: cheap)"
        ),
    ]


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
                    "count_exact": {"type": "boolean"},
                },
            },
        },
    }


def _collection(entity: Entity) -> dict[str, Any]:
    """/api/{slug}: list and create."""
    name, record = entity.name, _ref(entity.name)
    return {
        "get": {
            "tags": [name],
            "summary": f"List {entity.plural}",
            "parameters": _listing(),
            "responses": {"200": _json(_page(record), f"A page of {entity.plural}"), **ERRORS},
        },
        "post": {
            "tags": [name],
            "summary": f"Create a {entity.label}",
            "requestBody": _body(f"{name}Create"),
            "responses": {
                "201": _json(record, "Created"),
                **ERRORS,
                "409": PROBLEM,
                "422": PROBLEM,
            },
        },
    }


def _item(entity: Entity, item_id: dict[str, Any]) -> dict[str, Any]:
    """/api/{slug}/{id}: read, change and delete (the last two with If-Match)."""
    name, record, if_match = entity.name, _ref(entity.name), _if_match()
    return {
        "parameters": [item_id],
        "get": {
            "tags": [name],
            "summary": f"Read a {entity.label}",
            "responses": {"200": _json(record, entity.label), **ERRORS},
        },
        "patch": {
            "tags": [name],
            "summary": f"Change a {entity.label}",
            "parameters": [if_match],
            "requestBody": _body(f"{name}Patch"),
            "responses": {
                "200": _json(record, "Changed"),
                **ERRORS,
                "409": PROBLEM,
                "412": PROBLEM,
                "422": PROBLEM,
            },
        },
        "delete": {
            "tags": [name],
            "summary": f"Delete a {entity.label}",
            "parameters": [if_match],
            "responses": {
                "204": {"description": "Deleted"},
                **ERRORS,
                "409": PROBLEM,
                "412": PROBLEM,
            },
        },
    }


def _timeline(entity: Entity, item_id: dict[str, Any]) -> dict[str, Any]:
    """/api/{slug}/{id}/timeline."""
    entries = _page(_ref("TimelineEntry"))
    return {
        "parameters": [item_id],
        "get": {
            "tags": [entity.name],
            "summary": "Who changed what, newest first",
            "parameters": _paging(),
            "responses": {"200": _json(entries, "Timeline"), **ERRORS},
        },
    }


def _transition(entity: Entity, item_id: dict[str, Any]) -> dict[str, Any]:
    """/api/{slug}/{id}/transitions/{name}, for an entity with states."""
    assert entity.states is not None
    names = [t.name for t in entity.states.transitions]
    step = _parameter("name", "path", {"enum": names}, "the transition")
    step["required"] = True
    return {
        "parameters": [item_id, step],
        "post": {
            "tags": [entity.name],
            "summary": "Move along a state transition",
            "parameters": [_if_match()],
            "responses": {
                "200": _json(_ref(entity.name), "Moved"),
                **ERRORS,
                "409": PROBLEM,
                "412": PROBLEM,
            },
        },
    }


def _action(entity: Entity, item_id: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """/api/{slug}/{id}/actions/{workflow}, for an entity with manual workflows."""
    action = _parameter("workflow", "path", {"enum": names}, "the manual workflow")
    action["required"] = True
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
                    "content": {"application/json": {"schema": _ref("WorkflowRun")}},
                },
                **ERRORS,
                "409": PROBLEM,
            },
        },
    }


def entity_paths(entity: Entity, workflows: dict[str, Workflow] | None = None) -> dict[str, Any]:
    """The paths of one entity's records (`workflows`: the project's, for its actions)."""
    slug = entity.slug
    item_id = _parameter("id", "path", {"type": "string", "format": "uuid"}, f"{entity.name} id")
    item_id["required"] = True
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
    paths |= file_paths(entity, item_id)
    return paths


def run_paths() -> dict[str, Any]:
    """/api/workflow-runs and /api/workflow-runs/{id}."""
    run = _ref("WorkflowRun")
    filters = [
        _parameter("status", "query", {"type": "string"}, "pending, running, failed, dead, …"),
        _parameter("workflow", "query", {"type": "string"}, "the workflow's name"),
        _parameter("record", "query", {"type": "string", "format": "uuid"}, "a record's id"),
        _parameter("limit", "query", {"type": "integer", "minimum": 1, "maximum": 500}, ""),
        _parameter("cursor", "query", {"type": "string"}, "meta.next_cursor of a page"),
    ]
    run_id = _parameter("id", "path", {"type": "string", "format": "uuid"}, "the run's id")
    run_id["required"] = True
    visible = "Runs of the caller's organization on entities their roles may read."
    return {
        "/api/workflow-runs": {
            "get": {
                "tags": ["workflows"],
                "summary": "List workflow runs, newest first",
                "description": visible,
                "parameters": filters,
                "responses": {"200": _json(_page(run), "A page of runs"), **ERRORS},
            }
        },
        "/api/workflow-runs/{id}": {
            "parameters": [run_id],
            "get": {
                "tags": ["workflows"],
                "summary": "Read a workflow run",
                "description": visible,
                "responses": {"200": _json(run, "The run"), **ERRORS},
            },
        },
    }


def auth_paths() -> dict[str, Any]:
    """/auth/token: email and password (and the organization's slug) for a bearer token."""
    credentials = {
        "type": "object",
        "required": ["email", "password"],
        "properties": {"email": {"type": "string"}, "password": {"type": "string"}},
    }
    token = {
        "type": "object",
        "properties": {"access_token": {"type": "string"}, "token_type": {"type": "string"}},
    }
    organization = _parameter(
        "X-Organization", "header", {"type": "string"}, "the organization's slug"
    )
    return {
        "/auth/token": {
            "post": {
                "tags": ["auth"],
                "summary": "Exchange email and password for a bearer token",
                "security": [],
                "parameters": [organization],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": credentials}},
                },
                "responses": {
                    "200": _json(token, "A token"),
                    **ERRORS,
                    # the login gate: too many failed logins; the password hashing saturated
                    "429": PROBLEM,
                    "503": PROBLEM,
                },
            }
        }
    }
