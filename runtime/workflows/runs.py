"""Workflow runs for operators: list them, and retry a dead one by hand (SPEC §1.4).

A retry is one more attempt, made at once in the caller's process: the run's workflow on its
event's payload, through the same `attempt` as the workers (so it is idempotent per event and
its actions commit with the run's new status). It fails back to dead.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from runtime.access import Principal, may_do_anything
from runtime.database import write_transaction
from runtime.service import Forbidden, RecordService
from runtime.workflows.outbox_claims import claim_event, load_event
from runtime.workflows.workers import outbound_of, process

STATUSES = ("pending", "running", "failed", "dead", "succeeded", "skipped")


class RunError(Exception):
    """A run cannot be listed or retried; the message says why."""


@dataclass(frozen=True, slots=True)
class RunFilter:
    """Which runs to list. `entities`: only runs on these entities (None: any entity), and
    `unscoped`: runs on no entity (a schedule's) too."""

    run_id: uuid.UUID | None = None
    status: str | None = None
    tenant_id: uuid.UUID | None = None
    workflow: str | None = None
    record_id: uuid.UUID | None = None
    entities: Collection[str] | None = None
    unscoped: bool = True


def visible_runs(service: RecordService, principal: Principal, **given: Any) -> RunFilter:
    """The runs of the caller's organization that the caller may see, narrowed by `given`
    (RunFilter's fields). A run on entity E is visible to a caller whose roles may read E
    (entity level); a run on no entity (a schedule's) only to an owner or a superuser, since
    no role's permissions reach it."""
    if principal.tenant_id is None:
        raise Forbidden("choose an organization first")
    if may_do_anything(principal):
        return RunFilter(tenant_id=principal.tenant_id, **given)
    readable = [
        entity.name
        for entity in service.project.entities.values()
        if service.policy_view(principal, entity).rule("read") is not False
    ]
    return RunFilter(tenant_id=principal.tenant_id, entities=readable, unscoped=False, **given)


def may_retry(service: RecordService, principal: Principal, run: dict[str, Any]) -> bool:
    """Owners and superusers retry any run they see; another role a run of a manual
    workflow its roles may start on that entity."""
    if may_do_anything(principal):
        return True
    workflow = service.project.workflows.get(run["workflow"])
    entity = service.project.entities.get(run.get("entity") or "")
    if workflow is None or entity is None or workflow.on.event != "manual":
        return False
    return service.policy_view(principal, entity).may_run(workflow.name)


async def list_runs(
    service: RecordService,
    *,
    status: str | None = None,
    tenant_id: uuid.UUID | None = None,
    where: RunFilter | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Runs, newest first (then by id, so pages are stable), matching `where` (or just
    `status` and `tenant_id`)."""
    where = where or RunFilter(status=status, tenant_id=tenant_id)
    if where.status is not None and where.status not in STATUSES:
        raise RunError(f"no run status {where.status!r} (statuses: {', '.join(STATUSES)})")
    runs = service.registry.workflow_run
    query = runs.select().order_by(runs.created_at, runs.id, ascending=False)
    clauses = _clauses(runs, where)
    if clauses is None:
        return []
    if clauses:
        query = query.where(*clauses)
    if limit is not None:
        query = query.limit(limit).offset(offset)
    rows: list[dict[str, Any]] = await query.run()
    return rows


def _clauses(runs: Any, where: RunFilter) -> list[Any] | None:
    """The where clauses of `where`; None when it can match nothing."""
    clauses: list[Any] = []
    for column, value in (
        (runs.id, where.run_id),
        (runs.status, where.status),
        (runs.tenant_id, where.tenant_id),
        (runs.workflow, where.workflow),
        (runs.record_id, where.record_id),
    ):
        if value is not None:
            clauses.append(column == value)
    if where.entities is not None:
        names = sorted(where.entities)
        if names and where.unscoped:
            clauses.append(runs.entity.is_in(names) | runs.entity.is_null())
        elif names:
            clauses.append(runs.entity.is_in(names))
        elif where.unscoped:
            clauses.append(runs.entity.is_null())
        else:
            return None
    elif not where.unscoped:
        clauses.append(runs.entity.is_not_null())
    return clauses


async def retry_run(
    service: RecordService, run_id: str, *, attempt_now: bool = True
) -> dict[str, Any]:
    """Queue a dead run for one more attempt (its event back in the outbox, due now) and, with
    `attempt_now`, make that attempt in this process unless a worker took it first; the run as
    it is afterwards."""
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
    if await load_event(service.registry, run["event_id"]) is None:
        raise RunError(f"the outbox event {run['event_id']} of this run is gone")
    await requeue(service, key, run["event_id"])
    if attempt_now:
        claimed = await claim_event(service.registry, run["event_id"])
        if claimed is not None:  # else a worker took it already
            event, claim = claimed
            await process(service, event, claim, outbound_of(service))
    after: dict[str, Any] = await runs.select().where(runs.id == key).first().run()
    return after


async def requeue(service: RecordService, run_id: uuid.UUID, event_id: uuid.UUID) -> None:
    """The run pending again and its event due now, in one transaction."""
    runs, outbox = service.registry.workflow_run, service.registry.outbox
    async with write_transaction(service.registry.engine):
        await (
            runs.update({runs.status: "pending", runs.next_attempt_at: None})
            .where(runs.id == run_id)
            .run()
        )
        await (
            outbox.update(
                {
                    outbox.dispatched_at: None,
                    outbox.available_at: None,
                    outbox.claim_id: None,
                    outbox.claimed_at: None,
                }
            )
            .where(outbox.id == event_id, outbox.dispatched_at.is_not_null())
            .run()
        )
