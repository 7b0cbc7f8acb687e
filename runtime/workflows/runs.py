"""Workflow runs for operators: list them, and retry a dead one by hand (SPEC §1.4).

A retry is one more attempt, made at once in the caller's process: the run's workflow on its
event's payload, through the same `attempt` as the workers (so it is idempotent per event and
its actions commit with the run's new status). It fails back to dead.
"""

from __future__ import annotations

import uuid
from typing import Any

from runtime.service import RecordService
from runtime.workflows.outbox_claims import load_event
from runtime.workflows.runner import attempt, payload_of

STATUSES = ("pending", "failed", "dead", "succeeded", "skipped")


class RunError(Exception):
    """A run cannot be listed or retried; the message says why."""


async def list_runs(
    service: RecordService, *, status: str | None = None, tenant_id: uuid.UUID | None = None
) -> list[dict[str, Any]]:
    """Runs, newest change first, optionally of one status and one organization."""
    if status is not None and status not in STATUSES:
        raise RunError(f"no run status {status!r} (statuses: {', '.join(STATUSES)})")
    runs = service.registry.workflow_run
    query = runs.select().order_by(runs.updated_at, ascending=False)
    if status is not None:
        query = query.where(runs.status == status)
    if tenant_id is not None:
        query = query.where(runs.tenant_id == tenant_id)
    rows: list[dict[str, Any]] = await query.run()
    return rows


async def retry_run(service: RecordService, run_id: str) -> dict[str, Any]:
    """Attempt a dead run once more; the run as it is afterwards."""
    runs = service.registry.workflow_run
    try:
        key = uuid.UUID(run_id)
    except ValueError:
        raise RunError(f"{run_id!r} is not a run id (a UUID)") from None
    run = await runs.select().where(runs.id == key).first().run()
    if run is None:
        raise RunError(f"no workflow run {run_id}")
    if run["status"] != "dead":
        raise RunError(f"workflow run {run_id} is {run['status']}: only a dead run is retried")
    workflow = service.project.workflows.get(run["workflow"])
    if workflow is None:
        raise RunError(f"workflow {run['workflow']!r} is no longer defined")
    event = await load_event(service.registry, run["event_id"])
    if event is None:
        raise RunError(f"the outbox event {run['event_id']} of this run is gone")
    await attempt(service, workflow, event, payload_of(event), run)
    after: dict[str, Any] = await runs.select().where(runs.id == key).first().run()
    return after
