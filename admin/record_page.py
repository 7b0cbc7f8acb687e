"""A record's own page in the admin (/plinth/records/<table>/<id>/): its timeline (who, when,
which event or transition, each changed field old → new), a button per transition the
caller's roles grant and the record's state allows, a button per manual workflow the roles
may start, and the workflow runs of the record.

Everything is read and done through the service, as the REST API does it: the timeline is
`RecordService.timeline_page` (hidden fields masked, unreadable ones absent), a transition is
`RecordService.transition` at the version the page showed, an action `start_action`. The
piccolo-admin edit page links here (admin/plinth_links.py)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from admin.pages import Refused, check_csrf, html_page, refused_page, signed_in_principal
from admin.plinth_views import (
    RECORD_PAGE,
    entity_of,
    record_title,
    root,
    run_view,
    runs_where,
    transition_label,
    workflow_label,
)
from admin.plinth_views import (
    service as plinth_service,
)
from runtime.access import Principal
from runtime.api.problems import service_status
from runtime.definitions.model import Entity
from runtime.fields import as_uuid
from runtime.service import NotFound, RecordService, ServiceError, StaleVersion
from runtime.workflows.conditions import when_holds
from runtime.workflows.runs import list_runs

NOT_FOUND = "Not found: no such record that you can read, or no such action on it"
PAGE_SIZE = 20  # timeline entries per page
UNFINISHED = ("pending", "running", "failed")


def _after(request: Request) -> Any:
    """Where the page of history starts (`?after=`, the previous page's `following` as JSON,
    which the service checks); None for the newest entries."""
    raw = request.query_params.get("after")
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise Refused(400, "after: not a page of this history (follow the page's links)") from None


async def _record(service: RecordService, principal: Principal, entity: Entity, key: str) -> Any:
    """The record as the caller may read it, or None when it is gone (deleted) or unreadable:
    then the timeline read decides whether the page exists."""
    try:
        return await service.get(principal, entity.name, key)
    except NotFound:
        return None


def _buttons(
    service: RecordService, principal: Principal, entity: Entity, record: Any
) -> tuple[list[Any], list[Any]]:
    """(transitions, manual workflows) the caller may use on the record as it is now."""
    if record is None:
        return [], []
    view = service.policy_view(principal, entity)
    machine, transitions = entity.states, []
    if machine is not None and machine.field in record:
        for step in machine.transitions:
            if view.may_transition(step.name) and record[machine.field] in step.sources:
                transitions.append({"name": step.name, "label": transition_label(step)})
    actions = [
        {"name": wf.name, "label": workflow_label(wf)}
        for wf in service.project.workflows.values()
        if wf.on.event == "manual" and wf.on.entity == entity.name and view.may_run(wf.name)
    ]
    return transitions, actions


async def _render(request: Request, *, status: int = 200, error: str | None = None) -> Response:
    service, principal = plinth_service(), signed_in_principal()
    entity, key = entity_of(service, request), request.path_params["id"]
    # the runs first: a run shown finished has its changes in the timeline read after it
    async with service.wall(principal):
        runs = await list_runs(
            service, where=runs_where(service, principal, record_id=as_uuid(key))
        )
    record = await _record(service, principal, entity, key)
    after = _after(request)
    history = await service.timeline_page(  # NotFound: no page
        principal, entity.name, key, limit=PAGE_SIZE, after=after
    )
    transitions, actions = _buttons(service, principal, entity, record)
    views = [run_view(service, r) for r in runs[:PAGE_SIZE]]
    started = request.query_params.get("run")
    message = _message(request, entity, views, started)
    return html_page(
        "record.html",
        status=status,
        root=root(),
        entity=entity,
        record=record,
        record_id=key,
        title=record_title(entity, record, key),
        entries=history.rows,
        newer=after is not None,
        older=json.dumps(history.following) if history.following else None,
        transitions=transitions,
        actions=actions,
        runs=views,
        started=started,
        refresh=any(r["status"] in UNFINISHED for r in views if r["id"] == started),
        message=message,
        error=error,
        csrftoken=request.cookies.get("csrftoken", ""),
    )


def _message(request: Request, entity: Entity, runs: list[Any], started: str | None) -> str | None:
    moved = request.query_params.get("moved")
    steps = {t.name: t for t in (entity.states.transitions if entity.states else ())}
    if moved in steps:
        return f"Done: {transition_label(steps[moved])} (now {steps[moved].target})"
    run = next((r for r in runs if r["id"] == started), None)
    if run is not None:
        return f"The run of {run['workflow_label']} is {run['status']}"
    return None


def _not_found() -> Response:
    """404, naming nothing the request named: the record may be another organization's."""
    return html_page("record.html", status=404, root=root(), fatal=NOT_FOUND)


async def page(request: Request) -> Response:
    try:
        return await _render(request)
    except Refused as refused:
        return refused_page("record.html", refused)
    except NotFound:
        return _not_found()
    except ServiceError as refused:  # a forged `after`
        status = service_status(refused)[0]
        return html_page("record.html", status=status, root=root(), fatal=str(refused))


async def _transition(request: Request) -> str:
    """Runs the transition the button names, at the version the page showed; the query
    string of the page to show after it."""
    service, principal = plinth_service(), signed_in_principal()
    form = await check_csrf(request)
    entity, key, name = (
        entity_of(service, request),
        request.path_params["id"],
        request.path_params["name"],
    )
    try:
        version = int(form.get("version", ""))
    except ValueError:
        raise Refused(400, "the form sent no version: reload the page") from None
    await service.transition(principal, entity.name, key, name, version=version)
    return f"moved={name}"


async def _action(request: Request) -> str:
    """Starts the manual workflow the button names (its `when` checked as the API does)."""
    service, principal = plinth_service(), signed_in_principal()
    await check_csrf(request)
    entity, key, name = (
        entity_of(service, request),
        request.path_params["id"],
        request.path_params["name"],
    )
    workflow = service.project.workflows.get(name)

    async def holds(event: dict[str, Any], payload: dict[str, Any]) -> bool:
        return workflow is not None and await when_holds(service, workflow, event, payload)

    run = await service.start_action(principal, entity.name, key, name, holds=holds)
    return f"run={run['id']}"


def _button(do: Callable[[Request], Awaitable[str]]) -> Callable[[Request], Awaitable[Response]]:
    """The POST of a button: back to the record page (303), or the page with why it was
    refused."""

    async def pressed(request: Request) -> Response:
        try:
            query = await do(request)
        except Refused as refused:
            return refused_page("record.html", refused)
        except StaleVersion:
            error = (
                "This page is out of date: the record changed since it was shown. "
                "Nothing was done; look at the record as it is now and try again."
            )
            return await _render(request, status=409, error=error)
        except NotFound:
            return _not_found()
        except ServiceError as refused:
            return await _render(request, status=service_status(refused)[0], error=str(refused))
        page = request.url.path.rsplit("/", 3)[0]  # …/<id>/transitions/<name>/ → …/<id>
        return RedirectResponse(f"{page}/?{query}", status_code=303)

    return pressed


routes: list[BaseRoute] = [
    Route(RECORD_PAGE, page, methods=["GET"]),
    Route(f"{RECORD_PAGE}transitions/{{name}}/", _button(_transition), methods=["POST"]),
    Route(f"{RECORD_PAGE}actions/{{name}}/", _button(_action), methods=["POST"]),
]
