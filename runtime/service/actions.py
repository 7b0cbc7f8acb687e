"""Starting a manual workflow (an action) on one record: the caller must reach the record (tenant
wall and row rule) and be granted the action (the role's `actions`); the workflow's `when`
must match the record as it is now. The outbox event and the run's pending row commit in one
transaction, so the worker finds the run and reuses it (one run per event and workflow).

The service does not evaluate `when` itself: the caller hands it `holds`, the workflows'
evaluator, which sees the same synthetic event the worker will (the service depends on no
workflow code)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from runtime.definitions.model import Entity, Workflow
from runtime.service import outbox
from runtime.service._rows import insert_rows
from runtime.service.errors import Conflict, Forbidden, NotFound
from runtime.service.mutations import resolve
from runtime.service.scope import CallerScope
from runtime.service.values import to_json
from runtime.service.writes import ChangeWriter

# (event, payload) → does the workflow's `when` match the event's record?
Holds = Callable[[dict[str, Any], dict[str, Any]], Awaitable[bool]]


def manual_workflow(entity: Entity, workflows: dict[str, Workflow], name: str) -> Workflow:
    """The manual workflow `name` on `entity`; NotFound for any other name."""
    workflow = workflows.get(name)
    if workflow is None or workflow.on.event != "manual" or workflow.on.entity != entity.name:
        raise NotFound(f"{entity.name} has no action '{name}'")
    return workflow


async def start_action(
    writer: ChangeWriter,
    scope: CallerScope,
    entity: Entity,
    record_id: Any,
    workflow: Workflow,
    holds: Holds,
) -> dict[str, Any]:
    """The pending run of `workflow` on the record, with its event in the outbox."""
    principal = scope.principal
    async with writer.unit(principal):
        (row,) = await resolve(scope, entity, [record_id], None)  # 404 first: nothing leaks
        if not scope.view(entity).may_run(workflow.name):
            raise Forbidden(f"your roles do not allow the action '{workflow.name}'")
        payload = {
            "workflow": workflow.name,
            "record": {k: to_json(v) for k, v in row.items()},
            "user": outbox.user_of(principal),
        }
        columns = {
            "tenant_id": principal.tenant_id if entity.tenant_scoped else None,
            "entity": entity.name,
            "record_id": row["id"],
            "actor": principal.actor,
            "event": "manual",
            "transition": None,
        }
        event = outbox.event(change=columns, payload=payload)
        if not await holds(event, payload):
            raise Conflict(
                f"the action '{workflow.name}' does not apply to this {entity.name} as it is "
                "now: its 'when' does not match"
            )
        run = pending_run(event, workflow.name)
        await insert_rows([(writer.registry.outbox, event), (writer.registry.workflow_run, run)])
    return run


def pending_run(event: dict[str, Any], workflow: str) -> dict[str, Any]:
    """A pending run row of `workflow` on `event`: made here for a manual workflow, by the
    worker (runtime/workflows/runner.py) for the others."""
    now = dt.datetime.now(dt.UTC)
    return {
        "id": uuid.uuid4(),
        "event_id": event["id"],
        "workflow": workflow,
        "tenant_id": event["tenant_id"],
        "entity": event["entity"],
        "record_id": event["record_id"],
        "status": "pending",
        "attempts": 0,
        "steps": "[]",
        "next_attempt_at": None,
        "last_error": None,
        "created_at": now,
        "updated_at": now,
    }
