"""The timeline entries and outbox events of many creates (an import's batches): for each new
row, what `writes.change_rows` gives a `created` change, with what the rows share (the columns,
the user, which fields are masked) worked out once, and the values left typed for the JSON
encoder (`values.json_dumps`) rather than copied JSON-ready first. An entity with file fields
takes `change_rows` itself (a file is logged and shown by its own rules)."""

from __future__ import annotations

from typing import Any

from runtime.access import Principal
from runtime.definitions.model import Entity
from runtime.fields import field_type
from runtime.schema.registry import Registry
from runtime.service import outbox, timeline
from runtime.service._rows import Rows
from runtime.service.writes import Change, change_rows

_MASKED = {"old": timeline.MASK, "new": timeline.MASK}


class CreatedRows:
    def __init__(
        self, registry: Registry, principal: Principal, entity: Entity, request_id: str | None
    ) -> None:
        self.registry, self.principal, self.entity = registry, principal, entity
        self.request_id = request_id
        self.own_rules = any(
            f.type == "file" or field_type(f.type).log is not None for f in entity.fields
        )
        self.fields = tuple((f.name, f.hidden) for f in entity.fields)
        self.tenant_id = principal.tenant_id if entity.tenant_scoped else None
        self.user = outbox.user_of(principal)

    def rows(self, new: dict[str, Any]) -> Rows:
        """The timeline entry (when the entity keeps one) and the outbox event of `new`."""
        if self.own_rules:
            change = Change(self.entity, "created", values=new)
            return change_rows(self.registry, self.principal, change, new, self.request_id)
        changes: dict[str, Any] = {}
        for name, hidden in self.fields:
            after = new.get(name)
            if after is not None:
                changes[name] = _MASKED if hidden else {"old": None, "new": after}
        columns = {
            "tenant_id": self.tenant_id,
            "entity": self.entity.name,
            "record_id": new["id"],
            "actor": self.principal.actor,
            "event": "created",
            "transition": None,
        }
        rows: Rows = []
        if self.entity.timeline:
            entry = timeline.entry(
                change=columns,
                actor_id=self.principal.user_id,
                changes=changes,
                request_id=self.request_id,
            )
            rows.append((self.registry.timeline, entry))
        payload = {"record": new, "old": None, "changed": sorted(changes), "user": self.user}
        rows.append((self.registry.outbox, outbox.event(change=columns, payload=payload)))
        return rows
