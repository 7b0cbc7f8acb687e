"""What Plinth's own admin pages (admin/record_page.py, runs_page.py, home_page.py) share:
their addresses, the service of the request, and how records, runs and labels are shown."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from admin.context import current
from admin.pages import Refused
from runtime.access import Principal
from runtime.definitions.model import Entity, Transition, Workflow
from runtime.schema.entities import readable_template
from runtime.service import Forbidden, NotFound, RecordService
from runtime.service.values import to_json
from runtime.workflows.runner import steps_of
from runtime.workflows.runs import RunFilter, may_retry, visible_runs

PREFIX = "/plinth/"  # every page below, inside the admin's mount
RECORD_PAGE = "/plinth/records/{table}/{id}/"
RUNS_PAGE = "/plinth/runs/"


def root() -> str:
    """Where the admin is mounted (/admin), for the links the pages carry."""
    context = current.get()
    return context.root if context is not None else ""


def service() -> RecordService:
    context = current.get()
    if context is None:
        raise Refused(500, "the admin pages run behind AdminContextMiddleware")
    return context.service


def entity_of(service: RecordService, request: Request) -> Entity:
    """The entity whose table the path names; NotFound for any other name."""
    table = request.path_params["table"]
    for entity in service.project.entities.values():
        if entity.table == table:
            return entity
    raise NotFound(f"no table {table!r}")


def record_title(entity: Entity, record: dict[str, Any] | None, key: str) -> str:
    """The record as its `display` shows it, when the caller reads those fields; else its id."""
    shown = readable_template(entity)
    if record is not None and shown and all(record.get(n) is not None for n in shown[1]):
        return shown[0] % tuple(str(record[n]) for n in shown[1])
    return key


def transition_label(step: Transition) -> str:
    return step.label or step.name


def workflow_label(workflow: Workflow) -> str:
    return workflow.on.label or workflow.label or workflow.name


def runs_where(service: RecordService, principal: Principal, **given: Any) -> RunFilter:
    """The runs the caller may see (runtime/workflows/runs.py `visible_runs`), narrowed."""
    try:
        return visible_runs(service, principal, **given)
    except Forbidden as refused:  # no organization chosen
        raise Refused(403, str(refused)) from None


def record_link(service: RecordService, entity_name: str | None, record_id: Any) -> str | None:
    """The record page of a run's or an entry's record (None for a run on no entity)."""
    entity = service.project.entities.get(entity_name or "")
    if entity is None or record_id is None:
        return None
    return f"{root()}/plinth/records/{entity.table}/{record_id}/"


def run_view(
    service: RecordService, run: dict[str, Any], principal: Principal | None = None
) -> dict[str, Any]:
    """A run row as the pages show it: JSON-ready values, its steps, its labels and links,
    and (given the caller) whether they may retry it."""
    workflow = service.project.workflows.get(run["workflow"])
    shown = {k: to_json(v) for k, v in run.items() if k != "steps"}
    return {
        **shown,
        "workflow_label": workflow_label(workflow) if workflow else run["workflow"],
        "steps": [
            {k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in step.items()}
            for step in steps_of(run)
        ],
        "record_link": record_link(service, run.get("entity"), run.get("record_id")),
        "link": f"{root()}{RUNS_PAGE}{run['id']}/",
        "retryable": principal is not None
        and run["status"] == "dead"
        and may_retry(service, principal, run),
    }
