"""What reads and writes share: the policy of a caller, the scope of a query, the shape of a
record, references loaded for in-memory row rules, and the tenant wall."""

from __future__ import annotations

import uuid
from typing import Any

from piccolo.columns.combination import WhereRaw
from piccolo.table import Table

from runtime.access import Policy, Principal, policy_for
from runtime.definitions.model import SYSTEM_COLUMNS, Entity, Field
from runtime.filters import Node, compile_where, evaluate
from runtime.schema.registry import Registry
from runtime.service.errors import Forbidden, NotFound
from runtime.service.queries import CanRead, paths, typed
from runtime.service.tenancy import tenant_wall
from runtime.service.values import json_value, to_json

NOTHING = WhereRaw("1 = 0")


class ServiceBase:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.project = registry.project
        self._policies: dict[tuple, Policy] = {}  # policies depend on roles only

    def entity(self, name: str) -> Entity:
        entity = self.project.entities.get(name)
        if entity is None:
            raise NotFound(f"no entity {name!r}")
        return entity

    def policy(self, principal: Principal, entity: Entity) -> Policy:
        key = (principal.roles, principal.is_superuser, entity.name)
        policy = self._policies.get(key)
        if policy is None:
            policy = self._policies[key] = policy_for(self.project, principal, entity.name)
        return policy

    def can_read(self, principal: Principal) -> CanRead:
        def check(entity: Entity, field: Field) -> bool:
            allowed = self.policy(principal, entity).read_fields
            return allowed is None or field.name in allowed

        return check

    def wall(self, principal: Principal):
        return tenant_wall(self.registry.engine, principal)

    def rule(self, principal: Principal, entity: Entity, verb: str) -> bool | Node:
        """The principal's rule for `verb`, variables bound and values typed."""
        rule = self.policy(principal, entity).rule(verb)
        if isinstance(rule, bool):
            return rule
        return typed(self.project, entity, rule, principal.variables())

    def scope(self, principal: Principal, entity: Entity, verb: str = "read") -> list[Any]:
        """The where clauses that limit `verb` to the rows the principal may touch."""
        table = self.registry.table(entity)
        clauses: list[Any] = []
        if entity.tenant_scoped:
            if principal.tenant_id is None and not principal.is_superuser:
                return [NOTHING]
            if principal.tenant_id is not None:
                clauses.append(table.tenant_id == principal.tenant_id)
        rule = self.rule(principal, entity, verb)
        if rule is False:
            return [NOTHING]
        if rule is not True:
            clauses.append(compile_where(table, rule))
        return clauses

    def present(self, principal: Principal, entity: Entity, row: dict[str, Any]) -> dict[str, Any]:
        """A row as callers see it: system columns, then readable, non-hidden fields."""
        readable = self.policy(principal, entity).read_fields
        out = {k: to_json(row[k]) for k in SYSTEM_COLUMNS if k in row}
        for field in entity.fields:
            if field.hidden or (readable is not None and field.name not in readable):
                continue
            value = row.get(field.name)
            out[field.name] = json_value(value) if field.type == "json" else to_json(value)
        return out

    async def fetch(self, table: type[Table], clauses: list[Any], record_id: Any) -> dict | None:
        try:
            record_id = uuid.UUID(str(record_id))
        except ValueError:
            return None
        query = table.select().where(table.id == record_id)
        for clause in clauses:
            query = query.where(clause)
        return await query.first().run()

    async def load(self, entity: Entity, row: dict[str, Any], needed: set[str]) -> dict:
        """`row` with the references on `needed` paths replaced by their rows (or None)."""
        record = dict(row)
        for path in sorted(needed, key=lambda p: p.count(".")):
            holder: Any = record
            owner: Entity | None = entity
            *parents, name = path.split(".")
            for part in parents:
                field = owner.field(part) if owner else None
                holder = holder.get(part) if isinstance(holder, dict) else None
                owner = self.project.entities.get(field.to or "") if field else None
            field = owner.field(name) if owner else None
            if not isinstance(holder, dict) or field is None or field.type != "reference":
                continue
            target_id = holder.get(name)
            if target_id is None or isinstance(target_id, dict):
                continue
            table = self._reference_table(field)
            holder[name] = await table.select().where(table.id == target_id).first().run()
        return record

    def _reference_table(self, field: Field) -> type[Table]:
        if field.to == "User":
            return self.registry.user
        if field.to == "Organization":
            return self.registry.organization
        return self.registry.table(field.to or "")

    async def allow(self, principal: Principal, entity: Entity, verb: str, row: dict) -> None:
        """Refuse (403, with the reason) unless the principal's `verb` rule matches `row`."""
        rule = self.rule(principal, entity, verb)
        if rule is True:
            return
        if rule is not False:
            record = await self.load(entity, row, paths(rule))
            if evaluate(rule, record):
                return
        raise Forbidden(f"your roles do not allow you to {verb} this {entity.name}")
