"""A workflow's `when`, evaluated as the service evaluates a role rule: paths checked,
variables bound and operands typed (`typed`), then `evaluate` on the typed record with the
references it goes through loaded — so `when` means in memory what it would mean in SQL.

A condition that starts from a variable (`{$changed: {contains: priority}}`,
`{$old.priority: {lt: 3}}`) is read by the grammar's evaluator from the run's variables.
"""

from __future__ import annotations

from typing import Any

from runtime.definitions.model import Project, Workflow
from runtime.filters import evaluate
from runtime.service import RecordService
from runtime.service.queries import typed
from runtime.workflows.context import RunContext, run_context


def when_matches(project: Project, workflow: Workflow, context: RunContext) -> bool:
    """Does the run's record match the workflow's `when` (no `when`: always)?"""
    if workflow.when is None or context.entity is None:  # a schedule has no `when`
        return True
    variables = context.variables(project)
    node = typed(project, context.entity, workflow.when, variables)
    return evaluate(node, variables["$record"], variables)


async def when_holds(
    service: RecordService, workflow: Workflow, event: dict[str, Any], payload: dict[str, Any]
) -> bool:
    """Would a run of `workflow` on `event` pass its `when`? A manual action asks before it
    starts, with the record as it is now (the worker asks again when the run starts)."""
    context = await run_context(service, workflow, event, payload)
    return when_matches(service.project, workflow, context)
