"""OpenAPI 3.1 for the generated API, derived from the Model, and /api/docs (Swagger UI
from the swagger-ui-py wheel's static files: no CDN). The schemas are `openapi_schemas`'s,
the paths `openapi_paths`'s; this module puts them together and serves them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import swagger_ui
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from runtime.api.openapi_auth import auth_paths
from runtime.api.openapi_common import for_every_operation, json_response
from runtime.api.openapi_paths import entity_paths, run_paths
from runtime.api.openapi_schemas import field_schema, fixed_schemas, record_schemas
from runtime.api.openapi_transfer import import_status_path
from runtime.definitions.model import Project

SWAGGER_STATIC = Path(swagger_ui.__file__).parent / "static"

__all__ = ["field_schema", "openapi_document", "routes"]  # field_schema: where callers had it


def openapi_document(project: Project) -> dict[str, Any]:
    """The whole document: the fixed schemas, /auth, the runs and this document, then each
    entity's."""
    schemas: dict[str, Any] = fixed_schemas()
    paths: dict[str, Any] = auth_paths() | run_paths() | import_status_path() | _self()
    for entity in project.entities.values():
        schemas |= record_schemas(entity)
        paths |= entity_paths(entity, project.workflows)
    return {
        "openapi": "3.1.0",
        "info": {"title": f"{project.platform.name} API", "version": "1"},
        "paths": for_every_operation(paths),
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }


def _self() -> dict[str, Any]:
    """/api/openapi.json, served to anyone (/api/docs shows it)."""
    document = json_response({"type": "object"}, "This document")
    operation = {"tags": ["meta"], "summary": "The OpenAPI document", "security": []}
    return {"/api/openapi.json": {"get": operation | {"responses": {"200": document}}}}


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
