"""The caller's scope: its tenant and its row rule per verb, as where clauses for queries and
as an in-memory check of one row (references loaded for rules that go through them), and the
tenant wall its queries run inside."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import AbstractAsyncContextManager
from typing import Any

from piccolo.columns.combination import WhereRaw
from piccolo.query import Select

from runtime.access import PolicyView, Principal, view_for
from runtime.database import PlinthPostgresEngine, is_postgres
from runtime.definitions.model import Entity, Field, Project
from runtime.fields import as_uuid
from runtime.filters import Node, compile_where, evaluate, uses_clock
from runtime.schema.registry import DataTable, Registry
from runtime.service.errors import Forbidden
from runtime.service.queries import paths, typed
from runtime.service.statements import NO_HOLE, Statements
from runtime.service.tenancy import (
    fetch_at_once,
    select_at_once,
    single_statement_tenant,
    tenant_wall,
)

NOTHING = WhereRaw("1 = 0")


class PolicyViews:
    """Each caller's PolicyView per entity, built once: views depend on roles only."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self._views: dict[tuple[Any, ...], PolicyView] = {}

    def of(self, principal: Principal, entity: Entity) -> PolicyView:
        key = (principal.roles, principal.is_superuser, principal.is_system, entity.name)
        view = self._views.get(key)
        if view is None:
            view = self._views[key] = view_for(self.project, principal, entity)
        return view


class CallerScope:
    """What one principal reaches: rows of its tenant that its rule for a verb matches."""

    def __init__(
        self,
        registry: Registry,
        views: PolicyViews,
        principal: Principal,
        statements: Statements | None = None,
    ) -> None:
        self.registry = registry
        self.project = registry.project
        self.views = views
        self.principal = principal
        self.statements = statements

    def variables(self) -> dict[str, object]:
        """The filter variables: the principal's, and `$today` in the platform's timezone."""
        return self.principal.variables() | {"$today": self.project.platform.today()}

    def view(self, entity: Entity) -> PolicyView:
        return self.views.of(self.principal, entity)

    def can_read(self, entity: Entity, field: Field) -> bool:
        """`queries.CanRead` for paths that cross entities."""
        return self.views.of(self.principal, entity).may_read(field)

    def wall(self) -> AbstractAsyncContextManager[None]:
        return tenant_wall(self.registry.engine, self.principal)

    def rule(self, entity: Entity, verb: str) -> bool | Node:
        """The principal's rule for `verb`, variables bound and values typed."""
        rule = self.view(entity).rule(verb)
        if isinstance(rule, bool):
            return rule
        return typed(self.project, entity, rule, self.variables())

    def clocked(self, entity: Entity) -> bool:
        """Whether the read rule compares with `$now` (its SQL is not one to keep)."""
        rule = self.view(entity).rule("read")
        return not isinstance(rule, bool) and uses_clock(rule)

    def clauses(self, entity: Entity, verb: str = "read") -> list[Any]:
        """The where clauses that limit `verb` to the rows the principal may touch."""
        table = self.registry.table(entity)
        clauses: list[Any] = []
        principal = self.principal
        if entity.tenant_scoped:
            if principal.tenant_id is None and not principal.is_superuser:
                return [NOTHING]
            if principal.tenant_id is not None:
                clauses.append(table.tenant_id == principal.tenant_id)
        rule = self.rule(entity, verb)
        if rule is False:
            return [NOTHING]
        if rule is not True:
            clauses.append(compile_where(table, rule))
        return clauses

    async def select(self, query: Select[Any]) -> list[dict[str, Any]]:
        """The rows of `query`, inside the wall: as one statement when no transaction runs
        (one round trip: `tenancy.select_at_once`), else in the (walled) transaction."""
        return await self.select_kept(None, lambda: query)

    async def select_kept(
        self, key: Hashable | None, build: Callable[[], Select[Any]], hole: Any = NO_HOLE
    ) -> list[dict[str, Any]]:
        """`select` of the query `build` makes, its SQL kept under (`key`, the caller,
        `$today`) when it runs as one statement (`statements.Statements`; `hole` the value
        that varies under the same SQL); `key` None keeps nothing, as for any query that
        compares with `$now` (`clocked`)."""
        engine = self.registry.engine
        kept = self.statements if key is not None and is_postgres(engine) else None
        whole = (key, self.principal, self.project.platform.today())
        tenant = await single_statement_tenant(engine, self.principal)
        if tenant is not None:
            assert isinstance(engine, PlinthPostgresEngine)  # single_statement_tenant says
            if kept is None:
                rows = await select_at_once(engine, tenant, build())
            else:
                compiled = kept.compiled(whole, build, hole)
                rows = None if compiled is None else await fetch_at_once(engine, tenant, *compiled)
            if rows is not None:
                return rows
        async with self.wall():
            current = engine.current_transaction.get()
            if kept is not None and current is not None:  # a write's read, in its transaction
                compiled = kept.compiled(whole, build, hole)
                if compiled is not None:
                    sql, args = compiled
                    if engine.log_queries:  # as Piccolo logs the queries it runs itself
                        engine.print_query(query_id=engine.get_query_id(), query=f"{sql} {args}")
                    return [dict(row) for row in await current.connection.fetch(sql, *args)]
            found: list[dict[str, Any]] = await build().run()
            return found

    async def fetch(self, entity: Entity, record_id: Any) -> dict[str, Any] | None:
        """The row `record_id` if the principal may read it."""
        rows = await self.fetch_many(entity, [record_id])
        return rows[0] if rows else None

    async def fetch_many(
        self, entity: Entity, record_ids: list[Any], lock: bool = False
    ) -> list[dict[str, Any]]:
        """The rows of `record_ids` the principal may read (ids that are no UUID match none).
        `lock` (a write about to change them, inside its transaction): on PostgreSQL the rows
        are locked FOR UPDATE, in id order so two writers of the same rows cannot deadlock,
        and read as the last writer committed them; a SQLite write transaction is IMMEDIATE,
        so it holds the database's write lock already."""
        ids = [i for i in map(as_uuid, record_ids) if i is not None]
        if not ids:
            return []
        table = self.registry.table(entity)
        locking = lock and is_postgres(self.registry.engine)

        def build() -> Select[Any]:
            where = table.id == ids[0] if len(ids) == 1 else table.id.is_in(ids)
            query = table.select().where(where)
            for clause in self.clauses(entity):
                query = query.where(clause)
            return for_update(query, table) if locking else query

        if len(ids) == 1 and not self.clocked(entity):  # a get: the same SQL for every id
            return await self.select_kept(("fetch", entity.name, locking), build, ids[0])
        return await self.select(build())

    async def allow(self, entity: Entity, verb: str, row: dict[str, Any]) -> None:
        """Refuse (with the reason) unless the principal's `verb` rule matches `row`."""
        rule = self.rule(entity, verb)
        if rule is True:
            return
        if rule is not False:
            record = await load_references(self.registry, entity, row, paths(rule))
            if evaluate(rule, record):
                return
        raise Forbidden(f"your roles do not allow you to {verb} this {entity.name}")


def for_update(query: Select[Any], table: DataTable) -> Select[Any]:
    """`query` locking the rows of `table` it returns (PostgreSQL), in id order; only those,
    so a rule's joins (outer, nullable) lock nothing and refuse nothing."""
    unqualified: Any = _Unqualified(table)
    return query.order_by(table.id).lock_rows("UPDATE", of=(unqualified,))


class _Unqualified:
    """A table as FOR UPDATE OF names it: without its schema (PostgreSQL refuses one)."""

    def __init__(self, table: DataTable) -> None:
        self._meta = self
        self._name = table._meta.tablename

    def get_formatted_tablename(self) -> str:
        return f'"{self._name}"'


def reference_holders(
    project: Project, entity: Entity, record: dict[str, Any], needed: Iterable[str]
) -> Iterator[tuple[dict[str, Any], str, Field]]:
    """Each reference on the `needed` paths of `record`, shortest path first: the dict that
    holds it, its name and its field. The caller may replace `holder[name]` by the record it
    points to before asking the next one, so that a longer path goes through it."""
    for path in sorted(needed, key=lambda p: p.count(".")):
        holder: Any = record
        owner: Entity | None = entity
        *parents, name = path.split(".")
        for part in parents:
            field = owner.field(part) if owner else None
            holder = holder.get(part) if isinstance(holder, dict) else None
            owner = project.entities.get(field.to or "") if field else None
        field = owner.field(name) if owner else None
        if isinstance(holder, dict) and field is not None and field.type == "reference":
            yield holder, name, field


async def load_references(
    registry: Registry, entity: Entity, row: dict[str, Any], needed: set[str]
) -> dict[str, Any]:
    """`row` with the references on `needed` paths replaced by their rows (or None)."""
    record = dict(row)
    for holder, name, field in reference_holders(registry.project, entity, record, needed):
        target_id = holder.get(name)
        if target_id is None or isinstance(target_id, dict):
            continue
        table = _reference_table(registry, field)
        holder[name] = await table.select().where(table.id == target_id).first().run()
    return record


def _reference_table(registry: Registry, field: Field) -> DataTable:
    if field.to == "User":
        return registry.user
    if field.to == "Organization":
        return registry.organization
    return registry.table(field.to or "")
