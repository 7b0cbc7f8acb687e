"""Reads: every query is scoped to the caller's tenant and row rule, inside the tenant wall,
and every answer shows only the fields the caller's policy view lets it read."""

from __future__ import annotations

import builtins
import json
import uuid
from collections.abc import Callable
from typing import Any

from piccolo.query import Select
from piccolo.querystring import QueryString

from runtime.access import PolicyView
from runtime.database import is_postgres
from runtime.definitions.model import SYSTEM_COLUMNS, Entity, Field
from runtime.fields import field_type, fixed_places
from runtime.filters import compile_where, keyset
from runtime.filters.keyset import key_sql, order_terms
from runtime.schema.registry import Registry
from runtime.service.errors import FieldError, NotFound
from runtime.service.pages import ListQuery, Page, Sort, resolve_sort
from runtime.service.queries import BadQuery, parse_query_filter, resolve_path, typed
from runtime.service.scope import CallerScope
from runtime.service.shaping import Tree, merge, path_tree, project, references_in
from runtime.service.values import json_value, to_json

MAX_LIMIT = 500


def present(view: PolicyView, row: dict[str, Any]) -> dict[str, Any]:
    """A row as callers see it: system columns, then the fields the caller may read."""
    out = {k: to_json(row[k]) for k in SYSTEM_COLUMNS if k in row}
    for name, shown in _readable(view):
        value = row.get(name)
        out[name] = to_json(value) if shown is None else shown(value, row)
    return out


Shown = Callable[[Any, dict[str, Any]], Any]  # (stored value, row) → the value callers see
_Readable = tuple[tuple[str, Shown | None], ...]  # None: `to_json`
_READABLE: dict[int, tuple[PolicyView, _Readable]] = {}


def _shown(view: PolicyView, field: Field) -> Shown | None:
    """How a field's stored value shows, when `to_json` is not all of it."""
    name, show = field.name, field_type(field.type).show
    if show is not None:  # a file: its reference, as clients see it (fields/file_refs.py)
        prefix = f"/api/{view.entity.slug}/"
        return lambda value, row: show(value, f"{prefix}{row.get('id')}/files/{name}")
    if field.type == "json":
        return lambda value, row: json_value(value)
    if field.type == "decimal":
        return lambda value, row: None if value is None else str(fixed_places(field, value))
    return None


def _readable(view: PolicyView) -> _Readable:
    """(name, how it shows) of each field the view may read, worked out once per view
    rather than per row (views live as long as the service: scope.PolicyViews)."""
    known = _READABLE.get(id(view))
    if known is not None and known[0] is view:
        return known[1]
    plan = tuple((f.name, _shown(view, f)) for f in view.entity.fields if view.may_read(f))
    if len(_READABLE) > 10_000:  # views of many role sets: start again rather than grow
        _READABLE.clear()
    _READABLE[id(view)] = (view, plan)
    return plan


def _planned_rows(plan: builtins.list[dict[str, Any]]) -> int:
    """The row estimate at the top of an EXPLAIN (FORMAT JSON)."""
    tree = next(iter(plan[0].values()))
    tree = json.loads(tree) if isinstance(tree, str) else tree
    return max(int(tree[0]["Plan"]["Plan Rows"]), 0)


def _key(inputs: Any) -> str | None:
    """The inputs of a query as one string, types told apart (a UUID is not its text); None
    for inputs no string says (keys of mixed types: the filter's checks will say why)."""
    try:
        return json.dumps(inputs, sort_keys=True, default=lambda v: f"{type(v).__name__}:{v!r}")
    except (TypeError, ValueError):
        return None


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
            scope.variables(),
            scope.can_read,
        )
        return compile_where(self.registry.table(entity), node)

    def _select(
        self, scope: CallerScope, entity: Entity, filter: Any, search: str | None, sort: Sort
    ) -> Select[Any]:
        """The readable rows matching `filter` and `search`, in the order of `sort`, with the
        value of each key that goes through a reference selected as `sort.column(i)`."""
        table = self.registry.table(entity)
        where = self._where(scope, entity, self._with_search(scope, entity, filter, search))
        paths = [
            QueryString(f'{key_sql(table, key)} AS "{sort.column(i)}"')
            for i, key in enumerate(sort.keys)
            if "." in key.path
        ]
        query: Select[Any] = table.select(*table.all_columns(), *paths) if paths else table.select()
        for clause in [*scope.clauses(entity), where]:
            if clause is not None:
                query = query.where(clause)
        for term, ascending in order_terms(table, sort.keys):
            query = query.order_by(term, ascending=ascending)
        return query

    async def page(self, scope: CallerScope, entity: Entity, asked: ListQuery) -> Page:
        """Up to `asked.limit` readable rows of the principal's tenant as `asked` says
        (pages.ListQuery): after the row `asked.after` names, or from `asked.offset` on."""
        order = resolve_sort(self.project, entity, asked.sort, scope.can_read)
        table = self.registry.table(entity)
        shape = self._shape(scope, entity, asked.fields, asked.expand)
        size = min(max(asked.limit, 1), MAX_LIMIT)

        def build() -> Select[Any]:
            query = self._select(scope, entity, asked.filter, asked.search, order)
            if asked.after is not None:
                query = query.where(keyset.after(table, order.keys, order.typed(asked.after)))
            query = query.limit(size + 1)
            # the admin's page numbers; the API's pages start after a row instead
            return query.offset(asked.offset) if asked.offset else query

        if not shape[1]:  # nothing to expand: one statement (scope.select_kept)
            # kept: a list's first pages, asked again and again; not one after a cursor's row
            inputs = _key([asked.filter, asked.search, order.text, size, asked.offset])
            once = inputs is None or "$now" in inputs or asked.after is not None
            once = once or scope.clocked(entity)
            key = None if once else ("page", entity.name, inputs)
            rows = await scope.select_kept(key, build)
            return self._page(scope, entity, rows, size, order, shape[0])
        async with scope.wall():
            rows = await build().run()
            page = self._page(scope, entity, rows, size, order, None)
            shaped = await self._shaped(scope, entity, page.rows, *shape)
        return Page(shaped, page.following)

    def _page(
        self,
        scope: CallerScope,
        entity: Entity,
        rows: builtins.list[dict[str, Any]],
        size: int,
        order: Sort,
        wanted: Tree | None,
    ) -> Page:
        """The page of `size` rows (one more was read, to tell whether another page follows),
        presented and, with nothing to expand, projected on `wanted`."""
        more = len(rows) > size
        rows = rows[:size]
        view = scope.view(entity)
        records = [present(view, row) for row in rows]
        if wanted is not None:
            records = [project(r, wanted, keep=("id", "version")) for r in records]
        return Page(records, order.following(rows[-1]) if more else None)

    async def count(
        self, scope: CallerScope, entity: Entity, asked: ListQuery, *, estimate: bool = False
    ) -> tuple[int, bool]:
        """(how many rows match `asked.filter` and `asked.search`, exactly?): with `estimate`
        on PostgreSQL the planner's estimate of the same query under the tenant wall, which
        costs no scan; SQLite has no such estimate and counts."""
        table = self.registry.table(entity)
        matching = self._with_search(scope, entity, asked.filter, asked.search)
        where = self._where(scope, entity, matching)
        clauses = [c for c in [*scope.clauses(entity), where] if c is not None]
        async with scope.wall():
            if estimate and is_postgres(self.registry.engine):
                rows = table.select(table.id).where(*clauses) if clauses else table.select()
                plan = await table.raw("EXPLAIN (FORMAT JSON) {}", rows.querystrings[0]).run()
                return _planned_rows(plan), False
            query = table.count().where(*clauses) if clauses else table.count()
            count: int = await query.run()
            return count, True

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
