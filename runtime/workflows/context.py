"""What a workflow run sees: the event's record and old record with the references its `when`
and templates go through loaded, who made the change, and the tenant.

The record is the event's snapshot (the record as the change left it) — but a manual run's is
the record as it is when the run starts, since it was asked for earlier; the references are
read when the run starts, through the service as the system principal of the event's tenant,
so they are what that tenant's owner would see (hidden fields left out). `$user` is the user
who made the change (the event's actor, as recorded in the event): a change made by a
workflow or the command line has no user, so `$user.id` and `$user.email` are null.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from runtime.access import Principal
from runtime.definitions.checks.templates import read_template
from runtime.definitions.model import Entity, Project, Workflow
from runtime.filters import Var
from runtime.filters.ast import walk
from runtime.filters.parse import MAX_DEPTH
from runtime.service import NotFound, RecordService
from runtime.service.queries import BadQuery, coerce_operand, resolve_path
from runtime.service.scope import reference_holders
from runtime.service.values import to_json
from runtime.workflows.actions.base import RecordGone
from runtime.workflows.templates import Loaded

_PLATFORM = {"User": ("id", "email"), "Organization": ("id", "name")}  # as filters reach them
_HEADS = {"$record": "", "$old": "", "record": "", "old": ""}


@dataclass(frozen=True, slots=True)
class RunContext:
    """The event as JSON (what templates render), references loaded as `Loaded` records."""

    entity: Entity | None  # None: a schedule's run, which has no record
    record: dict[str, Any]
    old: dict[str, Any] | None
    changed: list[str]
    user: dict[str, Any]  # id, email, roles of who made the change
    tenant_id: uuid.UUID | None
    event: dict[str, Any]
    today: dt.date  # `$today`: the platform's date when the run started

    def templates(self) -> dict[str, Any]:
        """The names action values read: `record`, `old`, `changed`, `event`, and `user` and
        `tenant` for `$user.id` / `$tenant.id`; `$today` reads `today`."""
        return {
            "today": self.today.isoformat(),
            "record": self.record,
            "old": self.old,
            "changed": self.changed,
            "event": self.event,
            "user": self.user,
            "tenant": {"id": str(self.tenant_id) if self.tenant_id else None},
        }

    def variables(self, project: Project) -> dict[str, Any]:
        """The filter variables of SPEC §1.3, typed as the SQL side binds them."""
        user_id = self.user.get("id")
        return {
            "$user.id": uuid.UUID(user_id) if user_id else None,
            "$user.email": self.user.get("email"),
            "$user.roles": list(self.user.get("roles", [])),
            "$tenant.id": self.tenant_id,
            "$record": typed_record(project, self.entity, self.record) if self.entity else {},
            "$old": typed_record(project, self.entity, self.old)
            if self.entity and self.old
            else None,
            "$changed": list(self.changed),
            "$today": self.today,
        }


async def run_context(
    service: RecordService, workflow: Workflow, event: dict[str, Any], payload: dict[str, Any]
) -> RunContext:
    """The context of one run, with the references `workflow` reads loaded."""
    user = payload.get("user") or {"id": None, "email": None, "roles": []}
    summary = {"id": str(event["id"]), "event": event["event"]}
    if event["entity"] is None:  # a schedule's tick
        summary["tick"] = payload.get("tick")
        today = service.project.platform.today()
        return RunContext(None, {}, None, [], user, event["tenant_id"], summary, today)
    entity = service.entity(event["entity"])
    principal = Principal.system(event["tenant_id"], f"workflow:{workflow.name}")
    needed = reference_paths(workflow)
    old = payload.get("old")
    record = payload["record"]
    if event["event"] == "manual":  # asked for earlier: the record as it is now
        record = await _current(service, principal, entity, event["record_id"])
    return RunContext(
        entity=entity,
        record=await _load(service, principal, entity, record, needed),
        old=await _load(service, principal, entity, old, needed) if old else None,
        changed=list(payload.get("changed", [])),
        user=user,
        tenant_id=event["tenant_id"],
        event=summary,
        today=service.project.platform.today(),
    )


async def _current(
    service: RecordService, principal: Principal, entity: Entity, record_id: Any
) -> dict[str, Any]:
    """The record a manual run works on, read when the run starts; RecordGone if deleted."""
    try:
        return await service.get(principal, entity.name, record_id)
    except NotFound:
        raise RecordGone(f"{entity.name} {record_id} was deleted") from None


def reference_paths(workflow: Workflow) -> set[str]:
    """Every path through references that the workflow's `when` and action values read,
    relative to the record: `{contact.name: X}` and `{{ record.contact.email }}` → contact."""
    read: list[str] = []
    if workflow.when is not None:
        for cond in walk(workflow.when):
            read.append(cond.field)
            values = cond.value if isinstance(cond.value, tuple) else (cond.value,)
            read += [v.name for v in values if isinstance(v, Var)]
    for action in workflow.actions:
        read += _value_names(action.args)
    out: set[str] = set()
    for name in read:
        head, _, rest = name.partition(".")
        parts = (rest if head in _HEADS else name).split(".")[: MAX_DEPTH + 1]
        out.update(".".join(parts[:i]) for i in range(1, len(parts)))
    return out


def _value_names(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _value_names(item)
    elif isinstance(value, list):
        for item in value:
            yield from _value_names(item)
    elif isinstance(value, str):
        if value.startswith("$") and " " not in value:
            yield value
        else:
            yield from (n for n in read_template(value).names if n.split(".")[0] in _HEADS)


async def _load(
    service: RecordService,
    principal: Principal,
    entity: Entity,
    record: dict[str, Any],
    needed: Iterable[str],
) -> dict[str, Any]:
    """`record` with the references on `needed` replaced by the records they point to (a
    reference to nothing readable keeps its id, so a path through it reads null)."""
    record = dict(record)
    for holder, name, field in reference_holders(service.project, entity, record, needed):
        target = holder.get(name)
        if not isinstance(target, str):
            continue
        found = await _fetch(service, principal, field.to or "", target)
        if found is not None:
            holder[name] = Loaded(found)
    return record


async def _fetch(
    service: RecordService, principal: Principal, target: str, record_id: str
) -> dict[str, Any] | None:
    if target in _PLATFORM:
        table = service.registry.user if target == "User" else service.registry.organization
        columns = [getattr(table, name) for name in _PLATFORM[target]]
        row = await table.select(*columns).where(table.id == uuid.UUID(record_id)).first().run()
        return {k: to_json(v) for k, v in row.items()} if row else None
    try:
        return await service.get(principal, target, record_id)
    except NotFound:
        return None


def typed_record(project: Project, entity: Entity, record: dict[str, Any]) -> dict[str, Any]:
    """A record as JSON → its values as the database holds them (UUIDs, datetimes, decimals),
    loaded references included, so that `evaluate` compares what the SQL side compares."""

    def typed(value: dict[str, Any], prefix: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, item in value.items():
            try:
                field = resolve_path(project, entity, prefix + name)
            except BadQuery:  # a hidden field, or one no filter can reach
                out[name] = item
                continue
            if isinstance(item, dict) and field.type == "reference":
                out[name] = typed(item, f"{prefix}{name}.")
            elif field.type in ("json", "file"):
                out[name] = item
            else:
                out[name] = coerce_operand(field, "eq", item, prefix + name)
        return out

    return typed(record, "")
