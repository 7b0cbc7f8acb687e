"""The admin's overview (/plinth/): per entity the number of records the caller's roles may
read (the same count as the API's `count=true`), the latest changes across entities (the
timeline, `RecordService.recent_changes`), and the dead and failing workflow runs."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from admin.pages import Refused, html_page, refused_page, signed_in_principal
from admin.plinth_views import PREFIX, record_link, root, run_view, runs_where, service
from runtime.workflows.runs import list_runs

SHOWN = 10  # changes and runs of each kind


async def _home(request: Request) -> Response:
    svc, principal = service(), signed_in_principal()
    counts = []
    for entity in svc.project.entities.values():
        if svc.policy_view(principal, entity).rule("read") is not False:
            count = await svc.count(principal, entity.name)
            counts.append({"entity": entity, "count": count})
    changes = await svc.recent_changes(principal, limit=SHOWN)
    for change in changes:
        change["link"] = record_link(svc, change["entity"], change["record_id"])
    runs = {}
    async with svc.wall(principal):
        for status in ("dead", "failed"):
            where = runs_where(svc, principal, status=status)
            rows = await list_runs(svc, where=where, limit=SHOWN)
            runs[status] = [run_view(svc, r, principal) for r in rows]
    return html_page(
        "home.html",
        root=root(),
        counts=counts,
        changes=changes,
        dead=runs["dead"],
        failing=runs["failed"],
    )


async def home(request: Request) -> Response:
    try:
        return await _home(request)
    except Refused as refused:
        return refused_page("home.html", refused)


routes: list[BaseRoute] = [Route(PREFIX, home, methods=["GET"])]
