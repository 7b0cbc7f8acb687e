"""Data in and out over HTTP: POST /api/<slug>/import (a background job), GET
/api/imports/{id} (its status and report), GET /api/<slug>?format=csv|ndjson (a streamed
export), POST /api/<slug>/{id}/restore (a record back to a timeline entry). The rules are the
RecordService's; this module only speaks HTTP."""

from __future__ import annotations

import tempfile
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from runtime.access import Principal
from runtime.api import records
from runtime.api.callers import request_principal
from runtime.api.payloads import read_json
from runtime.api.problems import Problem
from runtime.api.records import _entity, _etag, _if_match, _list_query, _request_id
from runtime.definitions.model import Entity
from runtime.limits import ascii_digits, limits
from runtime.service.imports import ImportOptions
from runtime.transfer import jobs
from runtime.transfer.export import MEDIA_TYPES, export_lines
from runtime.transfer.formats import FORMATS
from runtime.transfer.sources import text_lines

SPOOL_BYTES = 8 * 1024 * 1024  # an upload past this waits on disk, not in memory
CONTENT_FORMATS = {"text/csv": "csv", "application/x-ndjson": "ndjson",
                   "application/jsonl": "ndjson", "application/x-jsonlines": "ndjson"}  # fmt: skip


def _flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "").lower() in ("1", "true", "yes")


def _format(request: Request) -> str:
    given = request.query_params.get("format")
    if given is None:
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        given = CONTENT_FORMATS.get(media)
    if given not in FORMATS:
        wanted = "send text/csv or application/x-ndjson, or say ?format=csv|ndjson"
        raise Problem(415, "Unsupported media type", wanted)
    return given


async def _spooled(request: Request) -> Any:
    """The body in a temporary file (memory first, disk past SPOOL_BYTES), refused past
    PLINTH_MAX_IMPORT_BYTES before it is all read."""
    cap = limits().import_bytes
    declared = request.headers.get("content-length", "")
    if ascii_digits(declared) and (len(declared) > 18 or int(declared) > cap):
        raise Problem(413, "Content too large", f"the file is larger than {cap} bytes")
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (the job closes it)
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            spool.close()
            raise Problem(413, "Content too large", f"the file is larger than {cap} bytes")
        spool.write(chunk)
    spool.seek(0)
    return spool


async def import_route(request: Request) -> Response:
    entity = _entity(request)
    principal = await request_principal(request)
    service = request.app.state.plinth.service
    options = ImportOptions(
        key=request.query_params.get("key") or None,
        dry_run=_flag(request, "dry_run"),
        partial=_flag(request, "partial"),
    )
    fmt = _format(request)
    service.check_import(principal, entity.name, options)  # 403 / 400 now, not in the job
    spool = await _spooled(request)
    job_id = await jobs.start_job(service, principal, entity.name, options)
    plinth = request.app.state.plinth
    plinth.imports.start(_run(request, principal, entity, job_id, spool, fmt, options))
    url = f"/api/imports/{job_id}"
    return JSONResponse({"id": str(job_id), "status": "running", "url": url}, status_code=202,
                        headers={"Location": url})  # fmt: skip


async def _run(
    request: Request, principal: Principal, entity: Entity, job_id: Any, spool: Any, fmt: str,
    options: ImportOptions,
) -> None:  # fmt: skip
    try:
        lines = text_lines(spool)
        await jobs.run_job(request.app.state.plinth.service, principal, job_id, entity.name,
                           lines, fmt, options)  # fmt: skip
    finally:
        spool.close()


async def import_status(request: Request) -> Response:
    principal = await request_principal(request)
    service = request.app.state.plinth.service
    return JSONResponse(await jobs.job_status(service, principal, request.path_params["id"]))


async def export_response(request: Request, entity: Entity, principal: Principal) -> Response:
    """GET /api/<slug>?format=csv|ndjson: every matching row, streamed."""
    fmt = request.query_params["format"]
    if fmt not in MEDIA_TYPES:
        raise Problem(400, "Bad query", f"format {fmt!r}: expected csv or ndjson")
    service = request.app.state.plinth.service
    body = await export_lines(service, principal, entity.name, fmt, _list_query(request))
    filename = f"{entity.slug}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return StreamingResponse(body, media_type=MEDIA_TYPES[fmt], headers=headers)


async def restore_route(request: Request) -> Response:
    """POST /api/<slug>/{id}/restore {"entry": <timeline entry id>}."""
    entity = _entity(request)
    principal = await request_principal(request)
    payload = await read_json(request)
    if not isinstance(payload, dict) or "entry" not in payload:
        raise Problem(422, "Validation failed", 'expected {"entry": "<timeline entry id>"}')
    record = await request.app.state.plinth.service.restore(
        principal, entity.name, request.path_params["id"], payload["entry"],
        version=_if_match(request), request_id=_request_id(request),
    )  # fmt: skip
    return JSONResponse(record, headers=_etag(record))


async def collection(request: Request) -> Response:
    """GET /api/<slug>: an export when ?format= asks for one, else the list."""
    if "format" not in request.query_params:
        return await records.collection(request)
    return await export_response(request, _entity(request), await request_principal(request))


routes = [  # before records.routes: /api/{slug}/{id} would take /api/imports/{id}
    Route("/api/imports/{id}", import_status, methods=["GET"]),
    Route("/api/{slug}", collection, methods=["GET"]),
    Route("/api/{slug}/import", import_route, methods=["POST"]),
    Route("/api/{slug}/{id}/restore", restore_route, methods=["POST"]),
]
