"""Reads: every query is scoped to the caller's tenant and row rule, inside the tenant wall."""

from __future__ import annotations

import uuid
from typing import Any

from runtime.access import Principal
from runtime.definitions.model import Entity
from runtime.filters import compile_where
from runtime.service import timeline
from runtime.service.base import ServiceBase
from runtime.service.errors import FieldError, NotFound
from runtime.service.queries import BadQuery, parse_query_filter, resolve_path, typed

MAX_LIMIT = 500


class Reads(ServiceBase):
    def _where(self, principal: Principal, entity: Entity, raw_filter: Any) -> Any:
        if not raw_filter:
            return None
        node = typed(
            self.project,
            entity,
            parse_query_filter(raw_filter),
            principal.variables(),
            self.can_read(principal),
        )
        return compile_where(self.registry.table(entity), node)

    def _order(self, principal: Principal, entity: Entity, sort: list[str] | None) -> list[str]:
        if not sort:
            default = entity.admin.order or "-created_at"
            name = default.removeprefix("-")
            field = entity.field(name)
            readable = field is None or self.can_read(principal)(entity, field)
            return [default if readable and not (field and field.hidden) else "-created_at"]
        keys = sort
        for key in keys:
            name = key.removeprefix("-")
            if "." in name:
                raise BadQuery([FieldError(name, "sort", "sorting by a path is not supported")])
            resolve_path(self.project, entity, name, self.can_read(principal))
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
        query = table.select()
        for clause in [*self.scope(principal, entity), self._where(principal, entity, filter)]:
            if clause is not None:
                query = query.where(clause)
        for key in self._order(principal, entity, sort):
            column = getattr(table, key.removeprefix("-"))
            query = query.order_by(column, ascending=not key.startswith("-"))
        query = query.order_by(table.id).limit(min(max(limit, 1), MAX_LIMIT)).offset(offset)
        async with self.wall(principal):
            rows = await query.run()
        return [self.present(principal, entity, row) for row in rows]

    async def count(self, principal: Principal, entity_name: str, *, filter: Any = None) -> int:
        entity = self.entity(entity_name)
        query = self.registry.table(entity).count()
        for clause in [*self.scope(principal, entity), self._where(principal, entity, filter)]:
            if clause is not None:
                query = query.where(clause)
        async with self.wall(principal):
            return await query.run()

    async def get(self, principal: Principal, entity_name: str, record_id: Any) -> dict[str, Any]:
        entity = self.entity(entity_name)
        table = self.registry.table(entity)
        async with self.wall(principal):
            row = await self.fetch(table, self.scope(principal, entity), record_id)
        if row is None:
            raise NotFound(f"{entity.name} {record_id} not found")
        return self.present(principal, entity, row)

    async def expand(
        self,
        principal: Principal,
        entity_name: str,
        records: list[dict[str, Any]],
        names: list[str],
    ) -> list[dict[str, Any]]:
        """`records` with each reference in `names` replaced by the referenced record as the
        caller may see it (`?expand=contact`); a record they cannot read stays an id."""
        entity = self.entity(entity_name)
        for name in names:
            field = entity.field(name)
            target = self.project.entities.get(field.to or "") if field else None
            readable = field is not None and not field.hidden
            if not readable or target is None or not self.can_read(principal)(entity, field):
                message = f"{entity.name} has no reference '{name}' to expand"
                raise BadQuery([FieldError(name, "expand", message)])
            ids = sorted({str(r[name]) for r in records if isinstance(r.get(name), str)})
            if not ids:
                continue
            found = await self.list(
                principal, target.name, filter={"id": {"in": ids}}, limit=MAX_LIMIT
            )
            by_id = {row["id"]: row for row in found}
            for record in records:
                record[name] = by_id.get(record.get(name), record.get(name))
        return records

    async def timeline(
        self, principal: Principal, entity_name: str, record_id: Any
    ) -> list[dict[str, Any]]:
        """Entries newest first; fields the caller cannot read are left out of `changes`."""
        entity = self.entity(entity_name)
        async with self.wall(principal):
            await self.get(principal, entity_name, record_id)  # 404 unless readable
            tl = self.registry.timeline
            query = tl.select().where(
                tl.entity == entity.name, tl.record_id == uuid.UUID(str(record_id))
            )
            if entity.tenant_scoped:
                query = query.where(tl.tenant_id == principal.tenant_id)
            rows = await query.order_by(tl.at, ascending=False).order_by(tl.id).run()
        readable = self.policy(principal, entity).read_fields
        hidden = {f.name for f in entity.fields if f.hidden}
        entries = []
        for row in rows:
            entry = timeline.entry_to_json(row)
            entry["changes"] = {
                k: v
                for k, v in entry["changes"].items()
                if k not in hidden and (readable is None or k in readable)
            }
            entries.append(entry)
        return entries
