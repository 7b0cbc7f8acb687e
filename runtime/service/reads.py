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
from runtime.service.shaping import Tree, merge, path_tree, project, references_in

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
        search: str | None = None,
        sort: list[str] | None = None,
        limit: int = 50,
        offset: int = 0,
        fields: list[str] | None = None,
        expand: list[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Readable rows of the principal's tenant matching `filter` (SPEC §1.3 grammar) and
        `search`, shaped by `fields` and `expand`."""
        entity = self.entity(entity_name)
        table = self.registry.table(entity)
        shape = self._shape(principal, entity, fields, expand)
        where = self._where(principal, entity, self._with_search(principal, entity, filter, search))
        query = table.select()
        for clause in [*self.scope(principal, entity), where]:
            if clause is not None:
                query = query.where(clause)
        for key in self._order(principal, entity, sort):
            column = getattr(table, key.removeprefix("-"))
            query = query.order_by(column, ascending=not key.startswith("-"))
        query = query.order_by(table.id).limit(min(max(limit, 1), MAX_LIMIT)).offset(offset)
        async with self.wall(principal):
            rows = await query.run()
            records = [self.present(principal, entity, row) for row in rows]
            return await self._shaped(principal, entity, records, *shape)

    async def count(
        self,
        principal: Principal,
        entity_name: str,
        *,
        filter: Any = None,
        search: str | None = None,
    ) -> int:
        entity = self.entity(entity_name)
        query = self.registry.table(entity).count()
        where = self._where(principal, entity, self._with_search(principal, entity, filter, search))
        for clause in [*self.scope(principal, entity), where]:
            if clause is not None:
                query = query.where(clause)
        async with self.wall(principal):
            return await query.run()

    async def get(
        self,
        principal: Principal,
        entity_name: str,
        record_id: Any,
        *,
        fields: list[str] | None = None,
        expand: list[str] | None = None,
    ) -> dict[str, Any]:
        entity = self.entity(entity_name)
        table = self.registry.table(entity)
        shape = self._shape(principal, entity, fields, expand)
        async with self.wall(principal):
            row = await self.fetch(table, self.scope(principal, entity), record_id)
            if row is None:
                raise NotFound(f"{entity.name} {record_id} not found")
            records = [self.present(principal, entity, row)]
            return (await self._shaped(principal, entity, records, *shape))[0]

    # -- search, fields, expand --------------------------------------------------------------

    def _with_search(
        self, principal: Principal, entity: Entity, filter: Any, search: str | None
    ) -> Any:
        """`filter` AND (any search field icontains `search`)."""
        if not search:
            return filter
        names = entity.admin.search or tuple(
            f.name for f in entity.fields if f.type in ("string", "text", "email")
        )
        can_read = self.can_read(principal)
        usable = [
            n
            for n in names
            if (f := entity.field(n)) is not None and not f.hidden and can_read(entity, f)
        ]
        if not usable:
            raise BadQuery(
                [FieldError("search", "search", f"{entity.name} has no searchable fields")]
            )
        clause = {"or": [{name: {"icontains": search}} for name in usable]}
        return {"and": [filter, clause]} if filter else clause

    def _shape(
        self,
        principal: Principal,
        entity: Entity,
        fields: list[str] | None,
        expand: list[str] | None,
    ) -> tuple[Tree | None, Tree]:
        """Check `fields` and `expand` paths; (fields tree or None, references to expand)."""
        can_read = self.can_read(principal)
        for path in [*(fields or []), *(expand or [])]:
            field = resolve_path(self.project, entity, path, can_read)
            if path in (expand or []) and field.type != "reference":
                raise BadQuery([FieldError(path, "expand", f"'{path}' is not a reference")])
        wanted = path_tree(fields) if fields else None
        to_expand = merge(path_tree(expand or []), references_in(wanted or {}))
        return wanted, to_expand

    async def _shaped(
        self,
        principal: Principal,
        entity: Entity,
        records: list[dict[str, Any]],
        wanted: Tree | None,
        to_expand: Tree,
    ) -> list[dict[str, Any]]:
        if to_expand:
            await self._expand(principal, entity, records, to_expand)
        if wanted is None:
            return records
        return [project(r, wanted, keep=("id", "version")) for r in records]

    async def _expand(
        self, principal: Principal, entity: Entity, records: list[dict], tree: Tree
    ) -> None:
        """Replace reference ids by the referenced records the caller can read."""
        for name, subtree in tree.items():
            field = entity.field(name)
            target = self.project.entities.get(field.to or "") if field else None
            ids = {r[name] for r in records if isinstance(r.get(name), str)}
            if target is None or not ids:
                continue
            table = self.registry.table(target)
            query = table.select().where(table.id.is_in([uuid.UUID(i) for i in ids]))
            for clause in self.scope(principal, target):
                query = query.where(clause)
            found = [self.present(principal, target, row) for row in await query.run()]
            await self._expand(principal, target, found, subtree)
            by_id = {r["id"]: r for r in found}
            for record in records:
                if record.get(name) in by_id:
                    record[name] = by_id[record[name]]

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
