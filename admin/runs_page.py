"""Workflow runs in the admin: the list (/plinth/runs/, filtered by status and workflow), a
run's page with each step's outcome (/plinth/runs/<id>/), and Retry of a dead run.

The runs shown are those the REST API's `/api/workflow-runs` shows the caller
(runtime/workflows/runs.py `visible_runs`: the active organization's, on entities the roles
may read), read inside the tenant wall. A retry is `retry_run` (one more attempt at once, in
this process), for owners and superusers, and for a role that may start the run's manual
workflow (`may_retry`)."""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from admin.pages import Refused, check_csrf, html_page, refused_page, signed_in_principal
from admin.plinth_views import RUNS_PAGE, root, run_view, runs_where, service
from runtime.access import Principal
from runtime.service import RecordService
from runtime.workflows.runs import STATUSES, RunError, list_runs, may_retry, retry_run

PAGE_SIZE = 50
NO_RUN = "Not found: no such workflow run that you can see"


async def _runs(request: Request) -> Response:
    svc, principal = service(), signed_in_principal()
    params = request.query_params
    status = params.get("status") or None
    workflow = params.get("workflow") or None
    if status is not None and status not in STATUSES:
        raise Refused(400, f"no run status {status!r} (statuses: {', '.join(STATUSES)})")
    try:
        page = max(1, int(params.get("page", "1")))
    except ValueError:
        page = 1
    where = runs_where(svc, principal, status=status, workflow=workflow)
    async with svc.wall(principal):
        rows = await list_runs(svc, where=where, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
    return html_page(
        "runs.html",
        root=root(),
        runs=[run_view(svc, r, principal) for r in rows[:PAGE_SIZE]],
        statuses=STATUSES,
        workflows=sorted(svc.project.workflows),
        chosen_status=status,
        workflow=workflow,
        page=page,
        more=len(rows) > PAGE_SIZE,
        csrftoken=request.cookies.get("csrftoken", ""),
    )


async def runs(request: Request) -> Response:
    try:
        return await _runs(request)
    except Refused as refused:
        return refused_page("runs.html", refused)


async def _visible_run(svc: RecordService, principal: Principal, raw: str) -> dict[str, Any]:
    """The run `raw` if the caller may see it; Refused 404 (as for no such run) otherwise."""
    try:
        run_id = uuid.UUID(raw)
    except ValueError:
        raise Refused(404, NO_RUN) from None
    async with svc.wall(principal):
        rows = await list_runs(svc, where=runs_where(svc, principal, run_id=run_id))
    if not rows:
        raise Refused(404, NO_RUN)
    return rows[0]


async def run_page(request: Request) -> Response:
    """GET a run; POST (the Retry button) retries it when it is dead and the caller may."""
    message = error = None
    status = 200
    try:
        svc, principal = service(), signed_in_principal()
        raw = request.path_params["id"]
        run = await _visible_run(svc, principal, raw)
        if request.method == "POST":
            await check_csrf(request)
            if not may_retry(svc, principal, run):
                raise Refused(403, "your roles do not allow retrying this run")
            try:
                run = await retry_run(svc, raw)
                message = f"Retried: the run is {run['status']}"
            except RunError as refused:
                status, error = 409, str(refused)
    except Refused as refused:
        return refused_page("run.html", refused)
    return html_page(
        "run.html",
        status=status,
        root=root(),
        run=run_view(svc, run, principal),
        message=message,
        error=error,
        csrftoken=request.cookies.get("csrftoken", ""),
    )


routes: list[BaseRoute] = [
    Route(RUNS_PAGE, runs, methods=["GET"]),
    Route(f"{RUNS_PAGE}{{id}}/", run_page, methods=["GET", "POST"]),
]
