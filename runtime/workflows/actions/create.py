"""`create`: add a record of any entity, through the service, in the run's transaction."""

from __future__ import annotations

from typing import Any

from runtime.workflows.actions.base import ActionKind, Step


async def run(args: dict[str, Any], step: Step) -> dict[str, Any]:
    record = await step.service.create(step.principal, args["entity"], args.get("values", {}))
    return {"entity": args["entity"], "id": record["id"]}


ACTION = ActionKind(name="create", external=False, run=run)
