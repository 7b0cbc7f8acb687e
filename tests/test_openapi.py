"""OpenAPI 3.1 from the definitions, and Swagger UI without a CDN."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate
from starlette.applications import Starlette
from starlette.routing import Mount, Route

from runtime.api.openapi import openapi_document
from runtime.api.openapi_query import RESERVED
from runtime.api.records import RESERVED_PARAMS
from runtime.definitions import load_project
from runtime.definitions.model import Project
from runtime.fields import field_type
from runtime.filters import OPERATORS
from tests.api_site import write_definitions
from tests.conftest import DEFINITIONS, Site, plinth_env
from tests.service.lab import LAB


@pytest.mark.parametrize("folder", [DEFINITIONS, LAB, None], ids=["demo", "lab", "every-route"])
def test_the_document_is_valid_openapi_3_1(folder: Path | None, tmp_path: Path) -> None:
    document = openapi_document(load_project(folder or write_definitions(tmp_path / "d")))
    validate(document)
    assert document["openapi"] == "3.1.0"


def test_hidden_fields_are_not_described() -> None:
    schemas = openapi_document(load_project(LAB))["components"]["schemas"]
    assert "secret" not in schemas["Sample"]["properties"]
    assert "locked" not in schemas["SampleCreate"]["properties"]  # read-only
    assert "stage" not in schemas["SampleCreate"]["properties"]  # moves by transition


def test_served_document_and_docs_without_a_cdn(server: Site) -> None:
    document = httpx.get(f"{server.url}/api/openapi.json").json()
    assert document == openapi_document(load_project(DEFINITIONS))
    page = httpx.get(f"{server.url}/api/docs")
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/api/docs/static/") for s in sources)
    for source in sources:
        assert httpx.get(f"{server.url}{source}").status_code == 200


# -- completeness ----------------------------------------------------------------------------

# What the app mounts and the document leaves out, and why: the document's own viewer (HTML
# and its static files), the redirect to the admin, and piccolo-admin (its JSON API has its
# own OpenAPI at /admin/api/openapi.json).
UNDOCUMENTED = {"/", "/api/docs", "/api/docs/static", "/admin"}


def _app_and_document(tmp_path: Path) -> tuple[Starlette, dict[str, Any], Project]:
    from runtime.app import build_app
    from runtime.database import engine_from_url
    from runtime.schema import build_registry
    from runtime.settings import read_settings

    project = load_project(write_definitions(tmp_path / "definitions"))
    env = plinth_env(f"sqlite:///{tmp_path / 'x.sqlite3'}", tmp_path)
    registry = build_registry(project, engine_from_url(env["PLINTH_DATABASE_URL"]))
    app = build_app(read_settings(env), registry, run_worker=False)
    return app, openapi_document(project), project


def test_every_mounted_route_and_method_is_in_the_document(tmp_path: Path) -> None:
    """Each Starlette route of the app (a project with states, a manual workflow and a file
    field), each of its methods: an operation of the document, for every entity when the
    route is an entity's, or for the entities it applies to (transitions: with states, …)."""
    app, document, project = _app_and_document(tmp_path)
    paths = document["paths"]
    seen = set()
    for route in app.routes:
        assert isinstance(route, Route | Mount)
        if route.path in UNDOCUMENTED:
            continue
        assert isinstance(route, Route), f"{route.path}: a mount the document does not cover"
        methods = {m.lower() for m in route.methods or ()} - {"head"}
        documented = [
            route.path.replace("{slug}", e.slug)
            for e in project.entities.values()
            if route.path.replace("{slug}", e.slug) in paths
        ]
        assert documented, f"{route.path} is not in the OpenAPI document"
        for path in documented:
            assert methods <= set(paths[path]), (path, methods - set(paths[path]))
        seen.add(route.path)
    for core in ("/api/{slug}", "/api/{slug}/{id}", "/api/{slug}/{id}/timeline"):
        for entity in project.entities.values():
            assert core.replace("{slug}", entity.slug) in paths
    item = "/api/{slug}/{id}"
    assert {"/auth/login", "/auth/logout", "/auth/token", "/auth/token/refresh", "/auth/me",
            "/api/workflow-runs", "/api/workflow-runs/{id}", f"{item}/actions/{{workflow}}",
            f"{item}/transitions/{{name}}", f"{item}/files/{{field}}", f"{item}/restore",
            "/api/{slug}/import", "/api/imports/{id}"} <= seen  # fmt: skip


def test_each_route_declares_the_problems_it_can_answer(tmp_path: Path) -> None:
    paths = _app_and_document(tmp_path)[1]["paths"]

    def statuses(path: str, method: str) -> set[int]:
        return {int(s) for s in paths[path][method]["responses"]}

    for login in ("/auth/token", "/auth/login"):
        assert {400, 401, 403, 413, 429, 503} <= statuses(login, "post")
    assert {401, 403} <= statuses("/auth/me", "get")
    assert {400, 401, 403, 404} <= statuses("/api/tickets", "get")
    assert {400, 401, 403, 409, 413, 422} <= statuses("/api/tickets", "post")
    assert {409, 412, 413, 422} <= statuses("/api/tickets/{id}", "patch")
    assert {409, 412} <= statuses("/api/tickets/{id}", "delete")
    assert {409, 412} <= statuses("/api/tickets/{id}/transitions/{name}", "post")
    assert {404, 409} <= statuses("/api/tickets/{id}/actions/{workflow}", "post")
    assert {413, 415, 503} <= statuses("/api/documents/{id}/files/{field}", "put")
    for item in paths.values():
        for method, operation in item.items():
            if method != "parameters" and operation.get("security") != []:
                headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
                assert "X-Organization" in headers, operation["summary"]
            if method != "parameters":  # a schema switch under way: any route
                assert "503" in operation["responses"], operation["summary"]
            for status, response in (
                operation.get("responses", {}).items() if method != "parameters" else ()
            ):
                if int(status) >= 400:
                    assert response["content"]["application/problem+json"]["schema"] == {
                        "$ref": "#/components/schemas/Problem"
                    }


def test_the_shorthand_filters_are_the_field_types_operators() -> None:
    """One parameter per field and operator its type accepts (runtime/fields), in the filter
    grammar's names (runtime/filters); the reserved names are the route's own."""
    project = load_project(DEFINITIONS)
    ticket = project.entities["Ticket"]
    names = {
        p["name"] for p in openapi_document(project)["paths"]["/api/tickets"]["get"]["parameters"]
    }
    assert set(RESERVED) == RESERVED_PARAMS and names >= RESERVED_PARAMS
    for field in ticket.fields:
        accepted = field_type(field.type).operators
        for op in OPERATORS:
            name = field.name if op == "eq" else f"{field.name}__{op}"
            assert (name in names) == (op in accepted and not field.hidden), name
    assert {"status", "priority__gte", "subject__icontains", "contact__isnull"} <= names
    assert "priority__contains" not in names and "internal_notes" not in names  # hidden
    assert "created_at__gte" in names and "version__lt" in names  # the system columns too
