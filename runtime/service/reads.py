"""Reads: every query is scoped to the caller's tenant and row rule, inside the tenant wall,
and every answer shows only the fields the caller's policy view lets it read."""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Callable
from typing import Any

from runtime.access import PolicyView
from runtime.definitions.model import SYSTEM_COLUMNS, Entity
from runtime.fields import field_type
from runtime.filters import compile_where
from runtime.schema.registry import Registry
from runtime.service import timeline
from runtime.service.errors import FieldError, NotFound
from runtime.service.queries import BadQuery, parse_query_filter, resolve_path, typed
from runtime.service.scope import CallerScope
from runtime.service.shaping import Tree, merge, path_tree, project, references_in
from runtime.service.values import json_value, to_json

MAX_LIMIT = 500


def present(view: PolicyView, row: dict[str, Any]) -> dict[str, Any]:
    """A row as callers see it: system columns, then the fields the caller may read."""
    out = {k: to_json(row[k]) for k in SYSTEM_COLUMNS if k in row}
    for name, show, is_json in _readable(view):
        value = row.get(name)
        if show is not None:  # a file: its reference, as clients see it (fields/file_refs.py)
            out[name] = show(value, f"/api/{view.entity.slug}/{row.get('id')}/files/{name}")
        else:
            out[name] = json_value(value) if is_json else to_json(value)
    return out


_Readable = tuple[tuple[str, Callable[[Any, str], Any] | None, bool], ...]
_READABLE: dict[int, tuple[PolicyView, _Readable]] = {}


def _readable(view: PolicyView) -> _Readable:
    """(name, how a file shows, is json) of each field the view may read, worked out once per
    view rather than per row (views live as long as the service: scope.PolicyViews)."""
    known = _READABLE.get(id(view))
    if known is not None and known[0] is view:
        return known[1]
    plan = tuple(
        (f.name, field_type(f.type).show, f.type == "json")
        for f in view.entity.fields
        if view.may_read(f)
    )
    if len(_READABLE) > 10_000:  # views of many role sets: start again rather than grow
        _READABLE.clear()
    _READABLE[id(view)] = (view, plan)
    return plan


def present_all(view: PolicyView, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [present(view, row) for row in rows]


def search_fields(view: PolicyView) -> list[str]:
    """The fields a search looks in: the entity's `admin.search`, or its text fields, that
    the caller may read."""
    entity = view.entity
    names = entity.admin.search or tuple(
        f.name for f in entity.fields if field_type(f.type).default_search
    )
    return [n for n in names if (f := entity.field(n)) is not None and view.may_read(f)]


class Reader:
    """list / count / get / timeline for a caller's scope."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.project = registry.project

    def _where(self, scope: CallerScope, entity: Entity, raw_filter: Any) -> Any:
        if not raw_filter:
            return None
        node = typed(
            self.project,
            entity,
            parse_query_filter(raw_filter),
            scope.principal.variables(),
            scope.can_read,
        )
        return compile_where(self.registry.table(entity), node)

    def _order(self, scope: CallerScope, entity: Entity, sort: list[str] | None) -> list[str]:
        if not sort:
            default = entity.admin.order or "-created_at"
            field = entity.field(default.removeprefix("-"))
            return [default if field is None or scope.can_read(entity, field) else "-created_at"]
        keys = sort
        for key in keys:
            name = key.removeprefix("-")
            if "." in name:
                raise BadQuery([FieldError(name, "sort", "sorting by a path is not supported")])
            resolve_path(self.project, entity, name, scope.can_read)
        return keys

    async def list(
        self,
        scope: CallerScope,
        entity: Entity,
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
        table = self.registry.table(entity)
        shape = self._shape(scope, entity, fields, expand)
        where = self._where(scope, entity, self._with_search(scope, entity, filter, search))
        query = table.select()
        for clause in [*scope.clauses(entity), where]:
            if clause is not None:
                query = query.where(clause)
        for key in self._order(scope, entity, sort):
            column = getattr(table, key.removeprefix("-"))
            query = query.order_by(column, ascending=not key.startswith("-"))
        query = query.order_by(table.id).limit(min(max(limit, 1), MAX_LIMIT)).offset(offset)
        if not shape[1]:  # nothing to expand: one statement
            records = present_all(scope.view(entity), await scope.select(query))
            return await self._shaped(scope, entity, records, *shape)
        async with scope.wall():
            records = present_all(scope.view(entity), await query.run())
            return await self._shaped(scope, entity, records, *shape)

    async def count(
        self,
        scope: CallerScope,
        entity: Entity,
        *,
        filter: Any = None,
        search: str | None = None,
    ) -> int:
        query = self.registry.table(entity).count()
        where = self._where(scope, entity, self._with_search(scope, entity, filter, search))
        for clause in [*scope.clauses(entity), where]:
            if clause is not None:
                query = query.where(clause)
        async with scope.wall():
            count: int = await query.run()
            return count

    async def get(
        self,
        scope: CallerScope,
        entity: Entity,
        record_id: Any,
        *,
        fields: builtins.list[str] | None = None,
        expand: builtins.list[str] | None = None,
    ) -> dict[str, Any]:
        shape = self._shape(scope, entity, fields, expand)
        if not shape[1]:  # nothing to expand: one statement
            return (await self._get(scope, entity, record_id, shape))[0]
        async with scope.wall():
            return (await self._get(scope, entity, record_id, shape))[0]

    async def _get(
        self, scope: CallerScope, entity: Entity, record_id: Any, shape: tuple[Tree | None, Tree]
    ) -> builtins.list[dict[str, Any]]:
        row = await scope.fetch(entity, record_id)
        if row is None:
            raise NotFound(f"{entity.name} {record_id} not found")
        return await self._shaped(scope, entity, [present(scope.view(entity), row)], *shape)

    # -- search, fields, expand --------------------------------------------------------------

    def _with_search(
        self, scope: CallerScope, entity: Entity, filter: Any, search: str | None
    ) -> Any:
        """`filter` AND (any search field icontains `search`)."""
        if not search:
            return filter
        usable = search_fields(scope.view(entity))
        if not usable:
            raise BadQuery(
                [FieldError("search", "search", f"{entity.name} has no searchable fields")]
            )
        clause = {"or": [{name: {"icontains": search}} for name in usable]}
        return {"and": [filter, clause]} if filter else clause

    def _shape(
        self,
        scope: CallerScope,
        entity: Entity,
        fields: builtins.list[str] | None,
        expand: builtins.list[str] | None,
    ) -> tuple[Tree | None, Tree]:
        """Check `fields` and `expand` paths; (fields tree or None, references to expand)."""
        for path in [*(fields or []), *(expand or [])]:
            field = resolve_path(self.project, entity, path, scope.can_read)
            if path in (expand or []) and field.type != "reference":
                raise BadQuery([FieldError(path, "expand", f"'{path}' is not a reference")])
        wanted = path_tree(fields) if fields else None
        to_expand = merge(path_tree(expand or []), references_in(wanted or {}))
        return wanted, to_expand

    async def _shaped(
        self,
        scope: CallerScope,
        entity: Entity,
        records: builtins.list[dict[str, Any]],
        wanted: Tree | None,
        to_expand: Tree,
    ) -> builtins.list[dict[str, Any]]:
        if to_expand:
            await self._expand(scope, entity, records, to_expand)
        if wanted is None:
            return records
        return [project(r, wanted, keep=("id", "version")) for r in records]

    async def _expand(
        self, scope: CallerScope, entity: Entity, records: builtins.list[dict[str, Any]], tree: Tree
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
            for clause in scope.clauses(target):
                query = query.where(clause)
            found = [present(scope.view(target), row) for row in await query.run()]
            await self._expand(scope, target, found, subtree)
            by_id = {r["id"]: r for r in found}
            for record in records:
                if record.get(name) in by_id:
                    record[name] = by_id[record[name]]

    async def timeline(
        self, scope: CallerScope, entity: Entity, record_id: Any
    ) -> builtins.list[dict[str, Any]]:
        """Entries newest first; fields the caller cannot read are left out of `changes`."""
        async with scope.wall():
            await self.get(scope, entity, record_id)  # 404 unless readable
            tl = self.registry.timeline
            query = tl.select().where(
                tl.entity == entity.name, tl.record_id == uuid.UUID(str(record_id))
            )
            if entity.tenant_scoped:
                query = query.where(tl.tenant_id == scope.principal.tenant_id)
            rows = await query.order_by(tl.at, ascending=False).order_by(tl.id).run()
        view = scope.view(entity)
        readable = {f.name for f in entity.fields if view.may_read(f)}
        entries = []
        for row in rows:
            entry = timeline.entry_to_json(row)
            entry["changes"] = {k: v for k, v in entry["changes"].items() if k in readable}
            entries.append(entry)
        return entries
