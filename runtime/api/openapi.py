"""OpenAPI 3.1 for the generated API, derived from the Model, and /api/docs (Swagger UI
from the swagger-ui-py wheel's static files: no CDN)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import swagger_ui
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from runtime.definitions.model import Entity, Field, Project
from runtime.fields import openapi_schema

SWAGGER_STATIC = Path(swagger_ui.__file__).parent / "static"
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


def _record_schemas(entity: Entity) -> dict[str, Any]:
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
        "properties": {f.name: _nullable(field_schema(f)) for f in writable},
        "required": [f.name for f in writable if f.required and not f.has_default],
    }
    patch = create | {"required": []}
    return {entity.name: record, f"{entity.name}Create": create, f"{entity.name}Patch": patch}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


PROBLEM = {
    "description": "A problem (RFC 9457)",
    "content": {"application/problem+json": {"schema": _ref("Problem")}},
}
ERRORS = {str(code): PROBLEM for code in (400, 401, 403, 404)}


def _parameter(name: str, where: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": where, "schema": schema, "description": description}


def _paths(entity: Entity) -> dict[str, Any]:
    slug, name = entity.slug, entity.name
    record = _ref(name)
    item_id = _parameter("id", "path", {"type": "string", "format": "uuid"}, f"{name} id")
    item_id["required"] = True
    if_match = _parameter("If-Match", "header", {"type": "string"}, 'the ETag read, W/"<version>"')
    listing = [
        _parameter("filter", "query", {"type": "string"}, "a filter (SPEC §1.3) as JSON"),
        _parameter("search", "query", {"type": "string"}, "text to look for"),
        _parameter("sort", "query", {"type": "string"}, "e.g. -due_at,subject"),
        _parameter("limit", "query", {"type": "integer", "minimum": 1, "maximum": 500}, ""),
        _parameter("cursor", "query", {"type": "string"}, "meta.next_cursor of a page"),
        _parameter("fields", "query", {"type": "string"}, "e.g. id,subject,contact.name"),
        _parameter("expand", "query", {"type": "string"}, "references to inline"),
        _parameter("count", "query", {"type": "boolean"}, "add meta.count"),
    ]
    page = {
        "type": "object",
        "properties": {
            "data": {"type": "array", "items": record},
            "meta": {
                "type": "object",
                "properties": {
                    "next_cursor": {"type": ["string", "null"]},
                    "count": {"type": "integer"},
                },
            },
        },
    }
    paths: dict[str, Any] = {
        f"/api/{slug}": {
            "get": {
                "tags": [name],
                "summary": f"List {entity.plural}",
                "parameters": listing,
                "responses": {"200": _json(page, f"A page of {entity.plural}"), **ERRORS},
            },
            "post": {
                "tags": [name],
                "summary": f"Create a {entity.label}",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref(f"{name}Create")}},
                },
                "responses": {
                    "201": _json(record, "Created"),
                    **ERRORS,
                    "409": PROBLEM,
                    "422": PROBLEM,
                },
            },
        },
        f"/api/{slug}/{{id}}": {
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
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref(f"{name}Patch")}},
                },
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
        },
        f"/api/{slug}/{{id}}/timeline": {
            "parameters": [item_id],
            "get": {
                "tags": [name],
                "summary": "Who changed what, newest first",
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "data": {"type": "array", "items": _ref("TimelineEntry")}
                            },
                        },
                        "Timeline",
                    ),
                    **ERRORS,
                },
            },
        },
    }
    if entity.states:
        names = [t.name for t in entity.states.transitions]
        step = _parameter("name", "path", {"enum": names}, "the transition")
        step["required"] = True
        paths[f"/api/{slug}/{{id}}/transitions/{{name}}"] = {
            "parameters": [item_id, step],
            "post": {
                "tags": [name],
                "summary": "Move along a state transition",
                "parameters": [if_match],
                "responses": {
                    "200": _json(record, "Moved"),
                    **ERRORS,
                    "409": PROBLEM,
                    "412": PROBLEM,
                },
            },
        }
    return paths


def openapi_document(project: Project) -> dict[str, Any]:
    schemas: dict[str, Any] = {
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
    }
    paths: dict[str, Any] = {
        "/auth/token": {
            "post": {
                "tags": ["auth"],
                "summary": "Exchange email and password for a bearer token",
                "security": [],
                "parameters": [
                    _parameter(
                        "X-Organization", "header", {"type": "string"}, "the organization's slug"
                    )
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["email", "password"],
                                "properties": {
                                    "email": {"type": "string"},
                                    "password": {"type": "string"},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "access_token": {"type": "string"},
                                "token_type": {"type": "string"},
                            },
                        },
                        "A token",
                    ),
                    **ERRORS,
                },
            }
        }
    }
    for entity in project.entities.values():
        schemas |= _record_schemas(entity)
        paths |= _paths(entity)
    return {
        "openapi": "3.1.0",
        "info": {"title": f"{project.platform.name} API", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }


DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<link rel="stylesheet" href="/api/docs/static/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/api/docs/static/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({{url: "/api/openapi.json", dom_id: "#swagger-ui"}});</script>
</body></html>"""


async def openapi_json(request: Request) -> JSONResponse:
    return JSONResponse(request.app.state.plinth.openapi)


async def docs(request: Request) -> HTMLResponse:
    title = request.app.state.plinth.openapi["info"]["title"]
    return HTMLResponse(DOCS_PAGE.format(title=title))


routes = [
    Route("/api/openapi.json", openapi_json, methods=["GET"]),
    Route("/api/docs", docs, methods=["GET"]),
    Mount("/api/docs/static", app=StaticFiles(directory=SWAGGER_STATIC), name="swagger"),
]
