"""RecordService: the only writer of entity rows, and the reader that applies tenant and role.

Every write runs, in ONE transaction: authorize → validate → check version → write the row →
append the timeline entry → append the outbox event.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from piccolo.columns.combination import WhereRaw
from piccolo.table import Table

from runtime.access import Policy, Principal, policy_for
from runtime.database import write_transaction
from runtime.definitions.model import SYSTEM_COLUMNS, Entity
from runtime.filters import compile_where, evaluate
from runtime.schema.registry import Registry
from runtime.service import outbox, timeline
from runtime.service.errors import FieldError, Forbidden, NotFound, StaleVersion, ValidationFailed
from runtime.service.queries import prepare_filter, queryable_field
from runtime.service.values import clean_values, default_value, to_json

MAX_LIMIT = 500


class RecordService:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.project = registry.project

    # -- helpers ---------------------------------------------------------------------------

    def entity(self, name: str) -> Entity:
        entity = self.project.entities.get(name)
        if entity is None:
            raise NotFound(f"no entity {name!r}")
        return entity

    def policy(self, principal: Principal, entity: Entity) -> Policy:
        return policy_for(self.project, principal, entity.name)

    def scope(self, principal: Principal, entity: Entity, verb: str = "read") -> list[Any]:
        """The where clauses that limit `verb` to what the principal may touch."""
        table = self.registry.table(entity)
        clauses: list[Any] = []
        if entity.tenant_scoped:
            if principal.tenant_id is None:
                return [WhereRaw("1 = 0")]
            clauses.append(table.tenant_id == principal.tenant_id)
        rule = self.policy(principal, entity).rule(verb)
        if rule is False:
            return [WhereRaw("1 = 0")]
        if rule is not True:
            clause = compile_where(table, rule, principal.variables())
            if clause is not None:
                clauses.append(clause)
        return clauses

    def present(self, principal: Principal, entity: Entity, row: dict[str, Any]) -> dict[str, Any]:
        """A row as the API shows it: system columns, then readable, non-hidden fields."""
        policy = self.policy(principal, entity)
        out = {k: to_json(row[k]) for k in SYSTEM_COLUMNS if k in row}
        for field in entity.fields:
            unreadable = policy.read_fields is not None and field.name not in policy.read_fields
            if field.hidden or unreadable:
                continue
            out[field.name] = to_json(row.get(field.name))
        return out

    async def _fetch(self, table: type[Table], clauses: list[Any], record_id: Any) -> dict | None:
        try:
            record_id = uuid.UUID(str(record_id))
        except ValueError:
            return None
        query = table.select().where(table.id == record_id)
        for clause in clauses:
            query = query.where(clause)
        return await query.first().run()

    # -- reads -----------------------------------------------------------------------------

    def _where(self, principal: Principal, entity: Entity, raw_filter: Any) -> Any:
        if not raw_filter:
            return None
        node = prepare_filter(entity, self.policy(principal, entity), raw_filter)
        return compile_where(self.registry.table(entity), node, principal.variables())

    def _order(self, principal: Principal, entity: Entity, sort: list[str] | None) -> list[str]:
        keys = sort or [entity.admin.order or "-created_at"]
        for key in keys:
            queryable_field(entity, self.policy(principal, entity), key.lstrip("-"))
        return keys

    async def list(
        self,
        principal: Principal,
        entity_name: str,
        *,
        filter: Any = None,
        sort: list[str] | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """Readable rows of the principal's tenant matching `filter` (SPEC §1.3 grammar)."""
        entity = self.entity(entity_name)
        table = self.registry.table(entity)
        where = self._where(principal, entity, filter)
        query = table.select()
        for clause in [*self.scope(principal, entity), where]:
            if clause is not None:
                query = query.where(clause)
        for key in self._order(principal, entity, sort):
            query = query.order_by(
                getattr(table, key.lstrip("-")), ascending=not key.startswith("-")
            )
        query = query.order_by(table.id).limit(min(max(limit, 1), MAX_LIMIT)).offset(offset)
        return [self.present(principal, entity, row) for row in await query.run()]

    async def count(self, principal: Principal, entity_name: str, *, filter: Any = None) -> int:
        entity = self.entity(entity_name)
        query = self.registry.table(entity).count()
        for clause in [*self.scope(principal, entity), self._where(principal, entity, filter)]:
            if clause is not None:
                query = query.where(clause)
        return await query.run()

    async def get(self, principal: Principal, entity_name: str, record_id: Any) -> dict[str, Any]:
        entity = self.entity(entity_name)
        table = self.registry.table(entity)
        row = await self._fetch(table, self.scope(principal, entity), record_id)
        if row is None:
            raise NotFound(f"{entity.name} {record_id} not found")
        return self.present(principal, entity, row)

    async def timeline(
        self, principal: Principal, entity_name: str, record_id: Any
    ) -> list[dict[str, Any]]:
        entity = self.entity(entity_name)
        await self.get(principal, entity_name, record_id)  # 404 unless readable
        tl = self.registry.timeline
        query = tl.select().where(
            tl.entity == entity.name, tl.record_id == uuid.UUID(str(record_id))
        )
        if entity.tenant_scoped:
            query = query.where(tl.tenant_id == principal.tenant_id)
        rows = await query.order_by(tl.at, ascending=False).order_by(tl.id).run()
        return [self._mask_entry(principal, entity, timeline.entry_to_json(r)) for r in rows]

    def _mask_entry(self, principal: Principal, entity: Entity, entry: dict) -> dict:
        readable = self.policy(principal, entity).read_fields
        hidden = {f.name for f in entity.fields if f.hidden}
        entry["changes"] = {
            k: v
            for k, v in entry["changes"].items()
            if k not in hidden and (readable is None or k in readable)
        }
        return entry

    # -- writes ----------------------------------------------------------------------------

    def _check_writable(self, principal: Principal, entity: Entity, names: list[str]) -> None:
        policy = self.policy(principal, entity)
        errors = []
        for name in names:
            field = entity.field(name)
            if field is None:
                continue
            if field.read_only and not principal.is_system:
                errors.append(FieldError(name, "read_only", "this field is read-only"))
            elif policy.write_fields is not None and name not in policy.write_fields:
                raise Forbidden(f"you may not write the field '{name}' of {entity.name}")
        if errors:
            raise ValidationFailed(errors)

    def _allow(self, principal: Principal, entity: Entity, verb: str, record: dict) -> None:
        rule = self.policy(principal, entity).rule(verb)
        if rule is True:
            return
        if rule is False or not evaluate(rule, record, principal.variables()):
            raise Forbidden(f"your roles do not allow you to {verb} this {entity.name}")

    async def _check_references(
        self, principal: Principal, entity: Entity, values: dict[str, Any]
    ) -> None:
        errors = []
        for field in entity.fields:
            target_id = values.get(field.name)
            if field.type != "reference" or target_id is None:
                continue
            target = self.project.entities.get(field.to or "")
            if target is None:  # User / Organization: checked by the database
                continue
            table = self.registry.table(target)
            if await self._fetch(table, self.scope(principal, target), target_id) is None:
                errors.append(
                    FieldError(field.name, "reference", f"no {target.name} with id {target_id}")
                )
        if errors:
            raise ValidationFailed(errors)

    async def create(
        self,
        principal: Principal,
        entity_name: str,
        values: dict[str, Any],
        *,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        entity = self.entity(entity_name)
        table = self.registry.table(entity)
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
        self._allow(principal, entity, "create", row)
        async with write_transaction(self.registry.engine):
            await self._check_references(principal, entity, clean)
            await table.insert(table(**row)).run()
            await self._record(principal, entity, row["id"], "created", {}, row, request_id)
        return self.present(principal, entity, row)

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
        table = self.registry.table(entity)
        self._check_writable(principal, entity, list(values))
        clean, errors = clean_values(entity, values, is_create=False)
        if errors:
            raise ValidationFailed(errors)
        async with write_transaction(self.registry.engine):
            old = await self._fetch(table, self.scope(principal, entity), record_id)
            if old is None:
                raise NotFound(f"{entity.name} {record_id} not found")
            self._allow(principal, entity, "update", old)
            expected = old["version"] if version is None else version
            if expected != old["version"]:
                raise StaleVersion(_stale(entity, old["version"], expected))
            new = old | clean
            self._allow(principal, entity, "update", new)
            changes = timeline.diff(entity, old, new)
            if not changes:
                return self.present(principal, entity, old)
            await self._check_references(principal, entity, clean)
            new |= {
                "updated_at": dt.datetime.now(dt.UTC),
                "updated_by": principal.user_id,
                "version": old["version"] + 1,
            }
            assignments = {getattr(table, k): v for k, v in clean.items()}
            assignments[table.updated_at] = new["updated_at"]
            assignments[table.updated_by] = new["updated_by"]
            assignments[table.version] = table.version + 1
            updated = (
                await table.update(assignments)
                .where(table.id == old["id"], table.version == expected)
                .returning(table.id)
                .run()
            )
            if not updated:
                raise StaleVersion(_stale(entity, None, expected))
            await self._record(principal, entity, old["id"], "updated", old, new, request_id)
        return self.present(principal, entity, new)

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
        table = self.registry.table(entity)
        async with write_transaction(self.registry.engine):
            old = await self._fetch(table, self.scope(principal, entity), record_id)
            if old is None:
                raise NotFound(f"{entity.name} {record_id} not found")
            self._allow(principal, entity, "delete", old)
            expected = old["version"] if version is None else version
            if expected != old["version"]:
                raise StaleVersion(_stale(entity, old["version"], expected))
            deleted = (
                await table.delete()
                .where(table.id == old["id"], table.version == expected)
                .returning(table.id)
                .run()
            )
            if not deleted:
                raise StaleVersion(_stale(entity, None, expected))
            await self._record(principal, entity, old["id"], "deleted", old, {}, request_id)

    async def _record(
        self,
        principal: Principal,
        entity: Entity,
        record_id: uuid.UUID,
        event: str,
        old: dict[str, Any],
        new: dict[str, Any],
        request_id: str | None,
    ) -> None:
        """The timeline entry and the outbox event of one change (inside its transaction)."""
        changes = timeline.diff(entity, old, new)
        await timeline.append_entry(
            self.registry.timeline,
            principal=principal,
            entity=entity,
            record_id=record_id,
            event=event,
            changes=changes,
            request_id=request_id,
        )
        await outbox.append_event(
            self.registry.outbox,
            principal=principal,
            entity=entity,
            record_id=record_id,
            event=event,
            payload={
                "record": {k: to_json(v) for k, v in (new or old).items()},
                "old": {k: to_json(v) for k, v in old.items()} if old and new else None,
                "changed": sorted(changes),
            },
        )


def _stale(entity: Entity, current: int | None, expected: int) -> str:
    now = f" (it is now at version {current})" if current is not None else ""
    return f"{entity.name} changed since you read version {expected}{now}: reload and retry"
