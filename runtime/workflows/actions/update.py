"""`update`: change the event's record, through the service, in the run's transaction."""

from __future__ import annotations

from typing import Any

from runtime.service import NotFound
from runtime.workflows.actions.base import ActionKind, RecordGone, Step


async def run(args: dict[str, Any], step: Step) -> dict[str, Any]:
    entity, record_id = step.event["entity"], step.event["record_id"]
    try:
        record = await step.service.update(step.principal, entity, record_id, args)
    except NotFound:
        raise RecordGone(f"the {entity} {record_id} was deleted before the workflow ran") from None
    return {"version": record["version"]}


ACTION = ActionKind(name="update", external=False, run=run)
