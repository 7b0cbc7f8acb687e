"""RFC 9457 problem+json responses, and the exception handlers that produce them."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from runtime.service import ServiceError, ValidationFailed
from runtime.storage import StorageError

log = logging.getLogger("plinth.api")


class Problem(Exception):
    """Raise from a route to answer with problem+json."""

    def __init__(
        self, status: int, title: str, detail: str = "", headers: Mapping[str, str] | None = None
    ):
        self.status, self.title, self.detail, self.headers = status, title, detail, headers
        super().__init__(detail or title)


def problem_response(
    status: int,
    title: str,
    detail: str = "",
    errors: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    return JSONResponse(
        body, status_code=status, media_type="application/problem+json", headers=headers
    )


async def on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return problem_response(exc.status, exc.title, exc.detail, headers=exc.headers)


# The status and title of each service error code (runtime/service/errors.py).
SERVICE_STATUS: dict[str, tuple[int, str]] = {
    "bad_request": (400, "Bad request"),
    "bad_query": (400, "Bad query"),
    "not_found": (404, "Not found"),
    "forbidden": (403, "Forbidden"),
    "stale_version": (412, "Precondition failed"),
    "conflict": (409, "Conflict"),
    "validation_failed": (422, "Validation failed"),
    "unique_conflict": (409, "Conflict"),
    "too_large": (413, "Content too large"),
    "unsupported_type": (415, "Unsupported media type"),
    "bad_import": (400, "Bad request"),  # an import's options do not fit the entity
    "bad_restore": (400, "Bad request"),  # a restore names no timeline entry
}


def service_status(exc: ServiceError) -> tuple[int, str]:
    """(status, title) of a service error; an unknown code is a plain 400."""
    return SERVICE_STATUS.get(exc.code, SERVICE_STATUS["bad_request"])


async def on_service_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    errors = None
    if isinstance(exc, ValidationFailed):
        errors = [{"field": e.field, "code": e.code, "message": e.message} for e in exc.errors]
    status, title = service_status(exc)
    return problem_response(status, title, str(exc), errors)


async def on_http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return problem_response(exc.status_code, exc.detail or "Error", headers=exc.headers)


async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(500, "Internal server error", "the error was logged")


async def on_storage_error(request: Request, exc: Exception) -> JSONResponse:
    """The file storage is down or refuses (a file route): the operator's problem, said so;
    the detail (bucket, endpoint) stays in the log."""
    log.error("storage: %s", exc)
    return problem_response(
        503, "Storage unavailable", "the file storage did not answer; try again later",
        headers={"Retry-After": "30"},
    )  # fmt: skip


EXCEPTION_HANDLERS = {
    Problem: on_problem,
    StorageError: on_storage_error,
    ServiceError: on_service_error,
    HTTPException: on_http_exception,
    Exception: on_unexpected,
}
