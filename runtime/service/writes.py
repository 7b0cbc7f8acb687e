"""Writes. Each runs, in ONE transaction inside the tenant wall: authorize → validate → check
the version → write the row(s) → append the timeline entry → append the outbox event."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from runtime.access import Principal
from runtime.definitions.model import Entity, Field
from runtime.service import outbox, timeline
from runtime.service._rows import Rows, insert_at_once, insert_rows
from runtime.service.errors import (
    Conflict,
    FieldError,
    Forbidden,
    NotFound,
    StaleVersion,
    UniqueConflict,
    ValidationFailed,
)
from runtime.service.queries import paths
from runtime.service.reads import Reads
from runtime.service.tenancy import single_statement_tenant, write_scope
from runtime.service.values import Invalid, clean_values, coerce, default_value, to_json


class Writes(Reads):
    # -- checks ----------------------------------------------------------------------------

    def _refusal(self, principal: Principal, entity: Entity, field: Field) -> str | None:
        """Why the caller may not write `field` ("state", "read_only", "forbidden"), or None."""
        if entity.states and field.name == entity.states.field:
            return "state"
        if field.read_only and not principal.is_system:
            return "read_only"
        allowed = self.policy(principal, entity).write_fields
        return "forbidden" if allowed is not None and field.name not in allowed else None

    def _check_writable(self, principal: Principal, entity: Entity, names: list[str]) -> None:
        errors = []
        for name in names:
            field = entity.field(name)
            refusal = self._refusal(principal, entity, field) if field else None
            if refusal == "state":
                errors.append(
                    FieldError(name, "state", f"'{name}' changes only through a transition")
                )
            elif refusal == "read_only":
                errors.append(FieldError(name, "read_only", "this field is read-only"))
            elif refusal == "forbidden":
                raise Forbidden(f"you may not write the field '{name}' of {entity.name}")
        if errors:
            raise ValidationFailed(errors)

    def _references(self, entity: Entity, values: dict[str, Any]) -> list[tuple[Field, Entity]]:
        """The reference fields given a value whose target must be checked."""
        out = []
        for field in entity.fields:
            target = self.project.entities.get(field.to or "")
            if field.type == "reference" and values.get(field.name) is not None and target:
                out.append((field, target))
        return out

    def _echoed(
        self, principal: Principal, entity: Entity, old: dict, values: dict[str, Any]
    ) -> set[str]:
        """The given fields the caller may read but not write (`_refusal`) that hold their
        current value already."""
        readable = self.policy(principal, entity).read_fields
        out = set()
        for name, given in values.items():
            field = entity.field(name)
            if field is None or field.hidden or (readable is not None and name not in readable):
                continue  # no "unchanged" answer for what the caller cannot see
            if self._refusal(principal, entity, field) is None:
                continue
            try:
                value = coerce(field, given)
            except Invalid:
                continue
            if to_json(value) == to_json(old.get(name)):
                out.add(name)
        return out

    async def _check_references(
        self, principal: Principal, entity: Entity, values: dict[str, Any]
    ) -> None:
        """A reference must name a record the caller can read in the same organization."""
        errors = []
        for field, target in self._references(entity, values):
            target_id = values[field.name]
            row = await self.fetch(
                self.registry.table(target), self.scope(principal, target), target_id
            )
            if row is None:
                errors.append(
                    FieldError(field.name, "reference", f"no {target.name} with id {target_id}")
                )
        if errors:
            raise ValidationFailed(errors)

    async def _check_unique(self, principal: Principal, entity: Entity, row: dict) -> None:
        """Unique fields and unique indexes, per organization for tenant-scoped entities."""
        table = self.registry.table(entity)
        errors = []
        for names in _unique_groups(entity, row):
            query = table.exists().where(table.id != row["id"])
            if entity.tenant_scoped:
                query = query.where(table.tenant_id == row["tenant_id"])
            for name in names:
                query = query.where(getattr(table, name) == row[name])
            if await query.run():
                shown = ", ".join(f"{n} = {to_json(row[n])!r}" for n in names)
                errors.append(FieldError(names[0], "unique", f"another {entity.name} has {shown}"))
        if errors:
            raise UniqueConflict(errors)

    async def _load_for_update(
        self, principal: Principal, entity: Entity, record_id: Any, version: int | None
    ) -> dict:
        row = await self.fetch(
            self.registry.table(entity), self.scope(principal, entity), record_id
        )
        if row is None:
            raise NotFound(f"{entity.name} {record_id} not found")
        if version is not None and version != row["version"]:
            raise StaleVersion(_stale(entity, row["version"], version))
        return row

    # -- create ----------------------------------------------------------------------------

    async def create(
        self,
        principal: Principal,
        entity_name: str,
        values: dict[str, Any],
        *,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        entity = self.entity(entity_name)
        if self.policy(principal, entity).create is False:
            raise Forbidden(f"your roles do not allow you to create a {entity.name}")
        if entity.tenant_scoped and principal.tenant_id is None:
            raise Forbidden("choose an organization first")
        self._check_writable(principal, entity, list(values))
        clean, errors = clean_values(entity, values, is_create=True)
        if errors:
            raise ValidationFailed(errors)
        for field in entity.fields:
            if field.name not in clean and field.has_default:
                clean[field.name] = default_value(field, principal.user_id)
        if entity.states:
            clean[entity.states.field] = entity.states.initial
        now = dt.datetime.now(dt.UTC)
        row: dict[str, Any] = {f.name: clean.get(f.name) for f in entity.fields}
        row |= {
            "id": uuid.uuid4(),
            "created_at": now,
            "updated_at": now,
            "created_by": principal.user_id,
            "updated_by": principal.user_id,
            "version": 1,
        }
        if entity.tenant_scoped:
            row["tenant_id"] = principal.tenant_id
        rows: Rows = [(self.registry.table(entity), _stored(entity, row))]
        rows += self._change_rows(principal, entity, row["id"], "created", {}, row, request_id)
        engine = self.registry.engine
        tenant = await single_statement_tenant(engine, principal)
        if tenant is not None and not self._reads_before_create(principal, entity, row):
            # nothing to look up first: the row, its timeline entry and its outbox event go
            # to the database as ONE statement inside the wall
            await self.allow(principal, entity, "create", row)
            await insert_at_once(engine, tenant, rows)
        else:
            async with write_scope(engine, principal):
                await self._check_references(principal, entity, row)
                await self.allow(principal, entity, "create", row)
                await self._check_unique(principal, entity, row)
                await insert_rows(rows)
        return self.present(principal, entity, row)

    def _reads_before_create(self, principal: Principal, entity: Entity, row: dict) -> bool:
        """Whether a create must read before it writes: a reference to check, a unique value
        to look for, or a create rule that goes through references."""
        rule = self.rule(principal, entity, "create")
        through = not isinstance(rule, bool) and bool(paths(rule))
        return through or bool(self._references(entity, row) or _unique_groups(entity, row))

    # -- update ----------------------------------------------------------------------------

    async def update(
        self,
        principal: Principal,
        entity_name: str,
        record_id: Any,
        values: dict[str, Any],
        *,
        version: int | None = None,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        entity = self.entity(entity_name)
        async with write_scope(self.registry.engine, principal):
            # 404 before anything else for a record the caller cannot read
            old = await self._load_for_update(principal, entity, record_id, version)
            await self.allow(principal, entity, "update", old)
            # a whole record sent back (the admin's form, a PUT-style client) repeats fields
            # the caller may read but not write: unchanged, they are no attempt to write them
            echoed = self._echoed(principal, entity, old, values)
            values = {k: v for k, v in values.items() if k not in echoed}
            self._check_writable(principal, entity, list(values))
            clean, errors = clean_values(entity, values, is_create=False)
            if errors:
                raise ValidationFailed(errors)
            new = old | clean
            if not timeline.diff(entity, old, new):
                return self.present(principal, entity, old)
            await self._check_references(principal, entity, clean)
            await self.allow(principal, entity, "update", new)
            await self._check_unique(principal, entity, new)
            new = await self._write(principal, entity, old, clean)
            await insert_rows(
                self._change_rows(principal, entity, old["id"], "updated", old, new, request_id)
            )
        return self.present(principal, entity, new)

    async def _write(
        self, principal: Principal, entity: Entity, old: dict, changes: dict[str, Any]
    ) -> dict:
        """UPDATE … SET changes, version = version + 1 WHERE id = ? AND version = ?."""
        table = self.registry.table(entity)
        now = dt.datetime.now(dt.UTC)
        assignments = {getattr(table, k): v for k, v in changes.items()}
        assignments |= {
            table.updated_at: now,
            table.updated_by: principal.user_id,
            table.version: table.version + 1,
        }
        updated = (
            await table.update(assignments)
            .where(table.id == old["id"], table.version == old["version"])
            .returning(table.id)
            .run()
        )
        if not updated:
            raise StaleVersion(_stale(entity, None, old["version"]))
        return (
            old
            | changes
            | {
                "updated_at": now,
                "updated_by": principal.user_id,
                "version": old["version"] + 1,
            }
        )

    # -- transition ------------------------------------------------------------------------

    async def transition(
        self,
        principal: Principal,
        entity_name: str,
        record_id: Any,
        name: str,
        *,
        version: int | None = None,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        """Move a record's state along transition `name` (SPEC §1.1 `states`)."""
        entity = self.entity(entity_name)
        machine = entity.states
        step = next((t for t in machine.transitions if t.name == name), None) if machine else None
        if machine is None or step is None:
            raise NotFound(f"{entity.name} has no transition '{name}'")
        allowed = self.policy(principal, entity).transitions
        async with write_scope(self.registry.engine, principal):
            old = await self._load_for_update(principal, entity, record_id, version)
            if not (principal.is_system or "*" in allowed or name in allowed):
                raise Forbidden(f"your roles do not allow the transition '{name}'")
            current = old[machine.field]
            if current not in step.sources:
                raise Conflict(
                    f"{entity.name} is '{current}': '{name}' goes from "
                    f"{', '.join(repr(s) for s in step.sources)} to '{step.target}'"
                )
            new = await self._write(principal, entity, old, {machine.field: step.target})
            await insert_rows(
                self._change_rows(
                    principal, entity, old["id"], "transition", old, new, request_id, name
                )
            )
        return self.present(principal, entity, new)

    # -- delete ----------------------------------------------------------------------------

    async def delete(
        self,
        principal: Principal,
        entity_name: str,
        record_id: Any,
        *,
        version: int | None = None,
        request_id: str | None = None,
    ) -> None:
        entity = self.entity(entity_name)
        async with write_scope(self.registry.engine, principal):
            old = await self._load_for_update(principal, entity, record_id, version)
            await self.allow(principal, entity, "delete", old)
            await self._delete_row(principal, entity, old, request_id)

    async def _delete_row(
        self, principal: Principal, entity: Entity, old: dict, request_id: str | None
    ) -> None:
        """Follow `on_delete` of every reference to this row, then delete it."""
        for other in self.project.entities.values():
            for field in other.fields:
                if field.type == "reference" and field.to == entity.name:
                    await self._follow(principal, entity, old, other, field.name, request_id)
        table = self.registry.table(entity)
        deleted = (
            await table.delete()
            .where(table.id == old["id"], table.version == old["version"])
            .returning(table.id)
            .run()
        )
        if not deleted:
            raise StaleVersion(_stale(entity, None, old["version"]))
        await insert_rows(
            self._change_rows(principal, entity, old["id"], "deleted", old, {}, request_id)
        )

    async def _follow(
        self,
        principal: Principal,
        entity: Entity,
        old: dict,
        other: Entity,
        name: str,
        request_id: str | None,
    ) -> None:
        table = self.registry.table(other)
        query = table.select().where(getattr(table, name) == old["id"])
        if other.tenant_scoped and old.get("tenant_id") is not None:
            query = query.where(table.tenant_id == old["tenant_id"])
        rows = await query.run()
        if not rows:
            return
        field = other.field(name)
        assert field is not None
        if field.on_delete == "restrict":
            raise Conflict(
                f"cannot delete this {entity.name}: {len(rows)} {other.name} record(s) refer "
                f"to it through '{name}' (on_delete: restrict)"
            )
        for row in rows:
            if field.on_delete == "cascade":
                await self._delete_row(principal, other, row, request_id)
            else:  # set_null
                new = await self._write(principal, other, row, {name: None})
                await insert_rows(
                    self._change_rows(principal, other, row["id"], "updated", row, new, request_id)
                )

    # -- timeline + outbox -----------------------------------------------------------------

    def _change_rows(
        self,
        principal: Principal,
        entity: Entity,
        record_id: uuid.UUID,
        event: str,
        old: dict[str, Any],
        new: dict[str, Any],
        request_id: str | None,
        transition: str | None = None,
    ) -> Rows:
        """The timeline entry (when the entity keeps one) and the outbox event of a change,
        which the caller inserts with the change."""
        changes = timeline.diff(entity, old, new)
        change = {
            "tenant_id": principal.tenant_id if entity.tenant_scoped else None,
            "entity": entity.name,
            "record_id": record_id,
            "actor": principal.actor,
            "event": event,
            "transition": transition,
        }
        rows: Rows = []
        if entity.timeline:
            entry = timeline.entry(
                change=change, actor_id=principal.user_id, changes=changes, request_id=request_id
            )
            rows.append((self.registry.timeline, entry))
        payload = {
            "record": {k: to_json(v) for k, v in (new or old).items()},
            "old": {k: to_json(v) for k, v in old.items()} if old and new else None,
            "changed": sorted(changes),
            "user": outbox.user_of(principal),
        }
        rows.append((self.registry.outbox, outbox.event(change=change, payload=payload)))
        return rows


def _unique_groups(entity: Entity, row: dict[str, Any]) -> list[tuple[str, ...]]:
    """Unique fields and unique indexes whose values are all given in `row`."""
    groups = [(f.name,) for f in entity.fields if f.unique]
    groups += [tuple(index.fields) for index in entity.indexes if index.unique]
    return [names for names in groups if all(row.get(n) is not None for n in names)]


def _stored(entity: Entity, row: dict[str, Any]) -> dict[str, Any]:
    """Row values as the database driver takes them: as they are, since json fields hold
    their JSON text already (values.json_text)."""
    return row


def _stale(entity: Entity, current: int | None, expected: int) -> str:
    now = f" (it is now at version {current})" if current is not None else ""
    return f"{entity.name} changed since you read version {expected}{now}: reload and retry"
