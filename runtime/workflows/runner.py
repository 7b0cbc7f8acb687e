"""Run the workflows one outbox event triggers: match, check `when`, do the actions step by step.

Each (event, workflow) pair has one run row, which records each completed step's outcome. A
stretch of database actions commits in one transaction with the run's progress, and only while
this worker still holds the event's claim (`Claim.held`), so a retry — or a second worker that
took over an expired claim — never applies them twice. An external action's outcome is recorded
as soon as it returns (the actions' contract: `actions/base.py`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from runtime.access import Principal
from runtime.database import write_transaction
from runtime.definitions.model import Action, Workflow
from runtime.service import RecordService
from runtime.service.actions import pending_run
from runtime.workflows.actions import ACTIONS
from runtime.workflows.actions.base import Outbound, RecordGone, Step, StepRefused
from runtime.workflows.backoff import retry_delay
from runtime.workflows.conditions import when_matches
from runtime.workflows.context import RunContext, run_context
from runtime.workflows.outbox_claims import Claim, LostClaim
from runtime.workflows.templates import render

log = logging.getLogger("plinth.workflows")
TERMINAL = ("succeeded", "skipped", "dead")
_BY_NAME = ("schedule", "manual")  # events that name the one workflow they run


def matching_workflows(service: RecordService, event: dict[str, Any]) -> list[Workflow]:
    workflows = service.project.workflows
    if event["event"] in _BY_NAME:
        named = workflows.get(payload_of(event).get("workflow", ""))
        return [named] if named is not None and named.on.event == event["event"] else []
    return [
        wf
        for wf in workflows.values()
        if wf.on.event == event["event"]
        and wf.on.entity == event["entity"]
        and (wf.on.transition is None or wf.on.transition == event.get("transition"))
    ]


def payload_of(event: dict[str, Any]) -> dict[str, Any]:
    payload = event["payload"]
    parsed: dict[str, Any] = json.loads(payload) if isinstance(payload, str) else payload
    return parsed


def steps_of(run: dict[str, Any]) -> list[dict[str, Any]]:
    steps = run.get("steps") or []
    parsed: list[dict[str, Any]] = json.loads(steps) if isinstance(steps, str) else steps
    return parsed


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt came to: the run's new status and, when it failed, when to retry."""

    status: str  # succeeded, skipped, failed (to retry) or dead
    retry_at: dt.datetime | None = None


async def prepare_runs(
    service: RecordService, events: list[dict[str, Any]]
) -> dict[uuid.UUID, list[tuple[Workflow, dict[str, Any]]]]:
    """Each event's workflows with their run rows, made for the new ones: a few queries for
    the whole batch, not a few per event."""
    runs = service.registry.workflow_run
    wanted = {e["id"]: (e, matching_workflows(service, e)) for e in events}
    ids = [event_id for event_id, (_, workflows) in wanted.items() if workflows]
    if not ids:
        return {}
    found = await _runs_of(runs, ids)
    missing = [
        runs(**pending_run(event, wf.name))
        for event, workflows in wanted.values()
        for wf in workflows
        if (event["id"], wf.name) not in found
    ]
    if missing:  # another worker may make some first: theirs stand
        query = runs.insert(*missing).on_conflict(action="DO NOTHING")
        made = await query.returning(*runs.all_columns()).run()
        found |= {(row["event_id"], row["workflow"]): row for row in made}
        if len(made) < len(missing):
            found = await _runs_of(runs, ids)
    return {
        event_id: [(wf, found[event_id, wf.name]) for wf in workflows]
        for event_id, (_, workflows) in wanted.items()
        if workflows
    }


async def _runs_of(runs: Any, event_ids: list[uuid.UUID]) -> dict[tuple[Any, str], Any]:
    rows = await runs.select().where(runs.event_id.is_in(event_ids)).run()
    return {(row["event_id"], row["workflow"]): row for row in rows}


async def run_event(
    service: RecordService,
    event: dict[str, Any],
    runs: list[tuple[Workflow, dict[str, Any]]],
    claim: Claim,
    outbound: Outbound,
) -> dt.datetime | None:
    """Run the event's workflows that are due (`runs`: from `prepare_runs`). None when they are
    all finished (succeeded, skipped or dead); else when the earliest is due to be retried."""
    due: list[dt.datetime] = []
    now = dt.datetime.now(dt.UTC)
    for workflow, run in runs:
        if run["status"] in TERMINAL:
            continue
        if run["next_attempt_at"] is not None and run["next_attempt_at"] > now:
            due.append(run["next_attempt_at"])
            continue
        outcome = await attempt(service, workflow, event, run, claim, outbound)
        if outcome.retry_at is not None:
            due.append(outcome.retry_at)
    return min(due) if due else None


async def attempt(
    service: RecordService,
    workflow: Workflow,
    event: dict[str, Any],
    run: dict[str, Any],
    claim: Claim,
    outbound: Outbound,
) -> Outcome:
    """One attempt of one run: `when` (before its first step), then the steps not yet done."""
    record = _Recorder(service, run, claim)
    try:
        context = await run_context(service, workflow, event, payload_of(event))
        if not record.steps and not when_matches(service.project, workflow, context):
            return await record.finish("skipped", "'when' did not match")
        principal = Principal.system(event["tenant_id"], f"workflow:{workflow.name}")
        stretches = list(_stretches(workflow.actions, len(record.steps)))
        for number, stretch in enumerate(stretches, 1):
            last = number == len(stretches)
            steps = [
                Step(service, workflow, event, index, principal, outbound) for index, _ in stretch
            ]
            if ACTIONS[stretch[0][1].kind].external:
                (step,) = steps
                await record.progress([await _run_action(stretch[0][1], step, context)], last)
                continue
            async with write_transaction(service.registry.engine):
                outcomes = [
                    await _run_action(action, step, context)
                    for (_, action), step in zip(stretch, steps, strict=True)
                ]
                await record.progress(outcomes, last)  # commits with the actions' writes
        return Outcome("succeeded") if stretches else await record.finish("succeeded", None)
    except RecordGone as gone:
        return await record.finish("skipped", str(gone))
    except LostClaim:
        raise  # another worker holds the event now: it records what happens
    except StepRefused as refused:
        log.warning("workflow %s refused on event %s: %s", workflow.name, event["id"], refused)
        return await record.finish("dead", f"refused: {refused}")
    except Exception as error:  # recorded on the run, then retried as `retry` says
        log.warning("workflow %s failed on event %s: %s", workflow.name, event["id"], error)
        reason = f"{type(error).__name__}: {error}"
        if record.attempts >= workflow.retry.attempts:
            return await record.finish("dead", reason)
        retry_at = dt.datetime.now(dt.UTC) + dt.timedelta(
            seconds=retry_delay(workflow.retry, record.attempts)
        )
        return await record.finish("failed", reason, retry_at)


def _stretches(actions: tuple[Action, ...], done: int) -> Iterator[list[tuple[int, Action]]]:
    """The steps from `done` on, grouped: each external action alone, consecutive database
    actions together (they commit as one)."""
    stretch: list[tuple[int, Action]] = []
    for index, action in list(enumerate(actions))[done:]:
        if ACTIONS[action.kind].external:
            if stretch:
                yield stretch
                stretch = []
            yield [(index, action)]
        else:
            stretch.append((index, action))
    if stretch:
        yield stretch


async def _run_action(action: Action, step: Step, context: RunContext) -> dict[str, Any]:
    kind = ACTIONS[action.kind]
    args = render(action.args, context.templates(), kind.html_args)
    outcome = await kind.run(args, step)
    return {"action": action.kind, **outcome}


class _Recorder:
    """The run row as one attempt moves it: each completed stretch of steps, then the end."""

    def __init__(self, service: RecordService, run: dict[str, Any], claim: Claim) -> None:
        self.runs = service.registry.workflow_run
        self.run_id = run["id"]
        self.claim = claim
        self.steps = steps_of(run)
        self.attempts = run["attempts"] + 1

    async def progress(self, outcomes: list[dict[str, Any]], last: bool) -> None:
        self.steps += outcomes
        await self._save(status="succeeded" if last else "running", error=None)

    async def finish(
        self, status: str, error: str | None, retry_at: dt.datetime | None = None
    ) -> Outcome:
        await self._save(status=status, error=error, retry_at=retry_at)
        return Outcome(status, retry_at)

    async def _save(
        self, *, status: str, error: str | None, retry_at: dt.datetime | None = None
    ) -> None:
        runs = self.runs
        values = {
            runs.status: status,
            runs.attempts: self.attempts,
            runs.steps: json.dumps(self.steps),
            runs.next_attempt_at: retry_at,
            runs.last_error: error,
            runs.updated_at: dt.datetime.now(dt.UTC),
        }
        saved = (
            await runs.update(values)
            .where(runs.id == self.run_id, runs.event_id.is_in(self.claim.held()))
            .returning(runs.id)
            .run()
        )
        if not saved:  # rolls back the actions of this stretch with it
            raise LostClaim(f"event {self.claim.event_id} was claimed by another worker")
