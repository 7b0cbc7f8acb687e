"""Run the workflows one outbox event triggers: match, check `when`, do the actions.

Each (event, workflow) pair has one run row; the actions that write through the service and
the run's status commit in one transaction, so a retried event never applies them twice.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from typing import Any

from runtime.access import Principal
from runtime.database import write_transaction
from runtime.definitions.model import Workflow
from runtime.service import RecordService
from runtime.workflows.conditions import when_matches
from runtime.workflows.context import RunContext, run_context
from runtime.workflows.templates import render

log = logging.getLogger("plinth.workflows")


def matching_workflows(service: RecordService, event: dict[str, Any]) -> list[Workflow]:
    return [
        wf
        for wf in service.project.workflows.values()
        if wf.on.event == event["event"]
        and wf.on.entity == event["entity"]
        and (wf.on.transition is None or wf.on.transition == event.get("transition"))
    ]


def payload_of(event: dict[str, Any]) -> dict[str, Any]:
    payload = event["payload"]
    parsed: dict[str, Any] = json.loads(payload) if isinstance(payload, str) else payload
    return parsed


async def _do_actions(
    service: RecordService, workflow: Workflow, event: dict[str, Any], context: RunContext
) -> None:
    principal = Principal.system(event["tenant_id"], f"workflow:{workflow.name}")
    names = context.templates()
    for action in workflow.actions:
        args = render(action.args, names)
        match action.kind:
            case "update":
                await service.update(principal, event["entity"], event["record_id"], args)
            case "create":
                await service.create(principal, args["entity"], args.get("values", {}))
            case _:
                raise NotImplementedError(f"action '{action.kind}' is not available yet")


async def _claim_run(
    service: RecordService, event: dict[str, Any], workflow: Workflow
) -> dict[str, Any] | None:
    """The run row of (event, workflow), created if new; None when it already succeeded."""
    runs = service.registry.workflow_run
    run = (
        await runs.select()
        .where(runs.event_id == event["id"], runs.workflow == workflow.name)
        .first()
        .run()
    )
    if run is None:
        run = {
            "id": uuid.uuid4(),
            "event_id": event["id"],
            "workflow": workflow.name,
            "tenant_id": event["tenant_id"],
            "status": "pending",
            "attempts": 0,
        }
        await runs.insert(runs(**run)).run()
    return None if run["status"] in ("succeeded", "skipped") else run


async def run_event(service: RecordService, event: dict[str, Any]) -> None:
    """Run every workflow `event` triggers. Raises when one fails (the caller retries)."""
    payload = payload_of(event)
    failures: list[str] = []
    for workflow in matching_workflows(service, event):
        run = await _claim_run(service, event, workflow)
        if run is None:
            continue
        status = await attempt(service, workflow, event, payload, run)
        if status == "failed":
            failures.append(workflow.name)
    if failures:
        raise RuntimeError(f"workflows {', '.join(failures)} failed on event {event['id']}")


async def attempt(
    service: RecordService,
    workflow: Workflow,
    event: dict[str, Any],
    payload: dict[str, Any],
    run: dict[str, Any],
) -> str:
    """One attempt of one run: `when`, then the actions and the run's new status in one
    transaction. Returns the status: succeeded, skipped, failed (to retry) or dead."""
    runs = service.registry.workflow_run
    attempts = run["attempts"] + 1
    try:
        async with write_transaction(service.registry.engine):
            context = await run_context(service, workflow, event, payload)
            matches = when_matches(service.project, workflow, context)
            if matches:
                await _do_actions(service, workflow, event, context)
            status = "succeeded" if matches else "skipped"
            await _record_run(runs, run["id"], status, attempts, None)
        return status
    except Exception as error:  # recorded on the run, then retried by the worker
        log.exception("workflow %s failed on event %s", workflow.name, event["id"])
        status = "dead" if attempts >= workflow.retry.attempts else "failed"
        await _record_run(runs, run["id"], status, attempts, f"{type(error).__name__}: {error}")
        return status


async def _record_run(
    runs: Any, run_id: uuid.UUID, status: str, attempts: int, error: str | None
) -> None:
    values = {
        runs.status: status,
        runs.attempts: attempts,
        runs.last_error: error,
        runs.updated_at: dt.datetime.now(dt.UTC),
    }
    await runs.update(values).where(runs.id == run_id).run()
