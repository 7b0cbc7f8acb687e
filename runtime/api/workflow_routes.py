"""Manual workflows and workflow runs over HTTP.

- `POST /api/<slug>/{id}/actions/{workflow}` starts a manual workflow on one record (the
  service authorizes it and writes the run; `when` is the workflows' own evaluator): 202 with
  the pending run.
- `GET /api/workflow-runs` and `GET /api/workflow-runs/{id}`: the runs of the caller's
  organization that the caller may see. A run on entity E is visible to a caller whose roles
  may read E (entity level; with `record=`, that record must be readable by the row rule
  too); a run on no entity (a schedule's) only to an owner or a superuser, since no role's
  permissions reach it.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from runtime.access import Principal
from runtime.api.callers import request_principal
from runtime.api.payloads import decode_cursor
from runtime.api.problems import Problem
from runtime.api.records import _entity
from runtime.service import NotFound, RecordService
from runtime.service.values import to_json
from runtime.workflows.conditions import when_holds
from runtime.workflows.runner import steps_of
from runtime.workflows.runs import STATUSES, RunError, list_runs, visible_runs

RUN_FIELDS = (
    "id", "workflow", "status", "attempts", "entity", "record_id", "last_error", "steps",
    "next_attempt_at", "created_at", "updated_at",
)  # fmt: skip
MAX_LIMIT = 500


def run_json(run: dict[str, Any]) -> dict[str, Any]:
    """A run row as the API shows it."""
    out = {name: to_json(run.get(name)) for name in RUN_FIELDS}
    out["steps"] = steps_of(run)
    return out


async def start_action(request: Request) -> Response:
    """POST /api/<slug>/{id}/actions/{workflow}."""
    entity = _entity(request)
    principal = await request_principal(request)
    service: RecordService = request.app.state.plinth.service
    name = request.path_params["workflow"]

    async def holds(event: dict[str, Any], payload: dict[str, Any]) -> bool:
        return await when_holds(service, service.project.workflows[name], event, payload)

    run = await service.start_action(
        principal, entity.name, request.path_params["id"], name, holds=holds
    )
    headers = {"Location": f"/api/workflow-runs/{run['id']}"}
    return JSONResponse(run_json(run), status_code=202, headers=headers)


async def runs_collection(request: Request) -> Response:
    """GET /api/workflow-runs?status=&workflow=&record=&limit=&cursor=."""
    principal = await request_principal(request)
    service: RecordService = request.app.state.plinth.service
    params = request.query_params
    status = params.get("status") or None
    if status is not None and status not in STATUSES:
        raise Problem(400, "Bad query", f"status: no run status {status!r} ({', '.join(STATUSES)})")
    record = _record_param(params.get("record"))
    limit, offset = _page(params.get("limit"), params.get("cursor"))
    if record is not None:
        await _readable_record(service, principal, record)
    where = visible_runs(
        service, principal, status=status, workflow=params.get("workflow") or None, record_id=record
    )
    async with service.wall(principal):
        try:
            rows = await list_runs(service, where=where, limit=limit + 1, offset=offset)
        except RunError as error:
            raise Problem(400, "Bad query", str(error)) from None
    more = len(rows) > limit
    cursor = base64.urlsafe_b64encode(str(offset + limit).encode()).decode() if more else None
    return JSONResponse(
        {"data": [run_json(r) for r in rows[:limit]], "meta": {"next_cursor": cursor}}
    )


async def runs_item(request: Request) -> Response:
    """GET /api/workflow-runs/{id}: 404 for a run the caller may not see."""
    principal = await request_principal(request)
    service: RecordService = request.app.state.plinth.service
    raw = request.path_params["id"]
    try:
        run_id = uuid.UUID(raw)
    except ValueError:
        raise Problem(404, "Not found", f"no workflow run {raw}") from None
    async with service.wall(principal):
        rows = await list_runs(service, where=visible_runs(service, principal, run_id=run_id))
    if not rows:
        raise Problem(404, "Not found", f"no workflow run {raw}")
    return JSONResponse(run_json(rows[0]))


def _record_param(raw: str | None) -> uuid.UUID | None:
    if not raw:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise Problem(400, "Bad query", f"record: {raw!r} is not a record id (a UUID)") from None


def _page(raw_limit: str | None, cursor: str | None) -> tuple[int, int]:
    try:
        limit = int(raw_limit) if raw_limit else 50
    except ValueError:
        raise Problem(400, "Bad query", "limit: must be an integer") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise Problem(400, "Bad query", f"limit: must be between 1 and {MAX_LIMIT}")
    return limit, decode_cursor(cursor)


async def _readable_record(service: RecordService, principal: Principal, record: uuid.UUID) -> None:
    """404 unless `record` is a record of an entity with workflows that the caller may read."""
    names = sorted({wf.on.entity for wf in service.project.workflows.values() if wf.on.entity})
    for name in names:
        try:
            await service.get(principal, name, record, fields=["id"])
            return
        except NotFound:
            continue
    raise Problem(404, "Not found", f"no record {record} that you can read")


routes = [
    Route("/api/workflow-runs", runs_collection, methods=["GET"]),
    Route("/api/workflow-runs/{id}", runs_item, methods=["GET"]),
    Route("/api/{slug}/{id}/actions/{workflow}", start_action, methods=["POST"]),
]
