"""The admin's file routes and the widget that uses them on a record's edit page.

piccolo-admin's own media columns write straight to a storage and to the column, past every
rule of the service; these routes are the API's instead (runtime/api/files.py): the same
streaming parser (`incoming`), the same service calls (tenant wall, row rule, field read and
write sets), the same download response. They answer for the admin's session, and their
unsafe methods check piccolo-admin's double-submit CSRF token in the header (they run in front
of its CSRF middleware, and never read a body as a form).

An upload or removal from the edit page moves the record to a new version; the form, which
never sends file fields, stays the user's: the page sends the version its form shows
(`X-Plinth-Form-Version`), the change is made only at the version that form stands for
(else 412: someone else changed the record), and the form then stands for the new version
(admin/saved_versions.py), so its next save is no false conflict."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from admin.context import current
from admin.file_fields import FILE_ROUTE, file_url
from admin.pages import CSRF_COOKIE, CSRF_HEADER
from admin.saved_versions import SavedVersions
from runtime.access import Principal
from runtime.api.files import download_response
from runtime.api.problems import Problem, problem_response, service_status
from runtime.api.records import _request_id
from runtime.api.upload_body import incoming
from runtime.definitions.model import Entity
from runtime.identity.digests import same_secret
from runtime.limits import ascii_digits
from runtime.service import RecordService, ServiceError
from runtime.storage import StorageError

FORM_VERSION = "x-plinth-form-version"
_ASSETS = Path(__file__).parent / "templates"
WIDGET = (
    f"<style>{(_ASSETS / 'file_widget.css').read_text()}</style>"
    f"<script>{(_ASSETS / 'file_widget.js').read_text()}</script>"
)


def with_file_widget(template: str) -> str:
    """piccolo-admin's page with the file widget's style and script."""
    return template.replace("</head>", f"{WIDGET}</head>", 1)


def _entity(service: RecordService, table: str) -> Entity:
    for entity in service.project.entities.values():
        if entity.table == table:
            return entity
    raise Problem(404, "Not found", f"no table {table}")


def _signed_in() -> tuple[RecordService, Principal]:
    context = current.get()
    if context is None or context.principal is None:
        raise Problem(401, "Unauthorized", "sign in first")
    return context.service, context.principal


def _check_csrf(request: Request) -> None:
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = request.headers.get(CSRF_HEADER, "")
    if not cookie or not same_secret(cookie, sent):
        raise Problem(403, "Forbidden", "the CSRF token is missing or wrong: reload the page")


def _form_version(request: Request) -> int | None:
    raw = request.headers.get(FORM_VERSION, "")
    return int(raw) if ascii_digits(raw) and len(raw) < 19 else None


async def file_route(request: Request) -> Response:
    try:
        return await _answer(request)
    except Problem as problem:
        return problem_response(problem.status, problem.title, problem.detail)
    except ServiceError as exc:
        status, title = service_status(exc)
        return problem_response(status, title, str(exc))
    except StorageError as exc:
        return problem_response(503, "Storage unavailable", str(exc))


async def _answer(request: Request) -> Response:
    service, principal = _signed_in()
    table, row_id, field = (request.path_params[k] for k in ("table", "row_id", "field"))
    entity = _entity(service, table)
    if request.method == "GET":
        download = await service.download_file(principal, entity.name, row_id, field)
        inline = request.query_params.get("inline") == "1"
        return await download_response(request, download.ref, download.storage, inline=inline)
    _check_csrf(request)
    saves = SavedVersions(request, table, row_id)
    shown = _form_version(request)
    version, request_id = saves.standing(shown), _request_id(request)
    if request.method == "PUT":
        record = await service.upload_file(
            principal, entity.name, row_id, field, incoming(request),
            version=version, request_id=request_id,
        )  # fmt: skip
    else:
        await service.remove_file(
            principal, entity.name, row_id, field, version=version, request_id=request_id
        )
        record = await service.get(principal, entity.name, row_id)
    response = JSONResponse(_shown(request, table, row_id, field, record))
    if version is None or record["version"] == version + 1:  # nobody else's change between
        saves.moved(response, shown, record["version"])
    return response


def _shown(
    request: Request, table: str, row_id: str, field: str, record: dict[str, Any]
) -> dict[str, Any]:
    """The file as the admin's rows show it (the URL of this route), and the new version."""
    value = record.get(field)
    if isinstance(value, dict):
        value = value | {"url": file_url(_root(), table, row_id, field)}
    return {field: value, "version": record["version"]}


def _root() -> str:
    context = current.get()
    return context.root if context is not None else ""


def routes() -> list[BaseRoute]:
    return [Route(FILE_ROUTE, file_route, methods=["GET", "PUT", "DELETE"])]
