"""RecordService: the facade callers hold. Each method binds the caller's scope
(`scope.CallerScope`) and hands it to one collaborator: `reads.Reader` for reads,
`mutations.Mutations` for changes (which write through `writes.ChangeWriter`). It holds no
rule of its own."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from piccolo.table import Table

from runtime.access import PolicyView, Principal
from runtime.definitions.model import Entity
from runtime.schema.registry import Registry
from runtime.service._rows import Rows
from runtime.service.actions import Holds, manual_workflow, start_action
from runtime.service.errors import NotFound
from runtime.service.files import Download, FileService
from runtime.service.history import MAX_LIMIT, History
from runtime.service.import_batch import SourceRow
from runtime.service.imports import (
    ImportOptions,
    ImportReport,
    Progress,
    check_options,
    import_rows,
)
from runtime.service.mutations import Mutations, Versions
from runtime.service.pages import FIRST_PAGE, ListQuery, Page
from runtime.service.reads import Reader, search_fields
from runtime.service.restore import restore
from runtime.service.scope import NOTHING, CallerScope, PolicyViews, load_references
from runtime.service.statements import Statements
from runtime.service.tenancy import tenant_wall
from runtime.service.uploads import Incoming
from runtime.service.writes import Change, ChangeWriter, change_rows
from runtime.storage import Storage


class RecordService:
    """create / update / transition / delete (one or many), start_action, get / list / count /
    timeline, and what the admin asks of an entity and a caller."""

    def __init__(self, registry: Registry, storage: Storage | None = None) -> None:
        """`storage`: where file fields keep their bytes (None: no file can be uploaded, nor
        a replaced one removed)."""
        self.registry = registry
        self.storage = storage
        self.project = registry.project
        self._views = PolicyViews(registry.project)
        self._statements = Statements()
        self._reader = Reader(registry)
        self._history = History(registry)
        self._writer = ChangeWriter(registry)
        self._mutations = Mutations(self._writer)
        self._files = FileService(self._writer, self._mutations, storage)

    def _scope(self, principal: Principal) -> CallerScope:
        return CallerScope(self.registry, self._views, principal, self._statements)

    # -- the Model, as callers see it ------------------------------------------------------

    def entity(self, name: str) -> Entity:
        entity = self.project.entities.get(name)
        if entity is None:
            raise NotFound(f"no entity {name!r}")
        return entity

    def entity_of_table(self, table: type[Table]) -> Entity:
        """The entity whose table this is; KeyError for any other table."""
        return self.entity(self.registry.entity_of_table(table))

    def policy_view(self, principal: Principal, entity: Entity) -> PolicyView:
        """What the principal may do on `entity`, and which of its fields it may read/write."""
        return self._views.of(principal, entity)

    def unreadable_fields(self, principal: Principal | None, entity: Entity) -> frozenset[str]:
        """The entity's field names the principal may not see (all of them for nobody)."""
        if principal is None:
            return frozenset(f.name for f in entity.fields)
        return self._views.of(principal, entity).unreadable()

    def search_fields(self, principal: Principal, entity: Entity) -> list[str]:
        """The fields a search of `entity` looks in, among those the principal may read."""
        return search_fields(self._views.of(principal, entity))

    def scope_clauses(
        self, principal: Principal | None, entity: Entity, verb: str = "read"
    ) -> list[Any]:
        """Where clauses limiting a query of `entity` to the rows the principal may `verb`."""
        if principal is None:
            return [NOTHING]
        return self._scope(principal).clauses(entity, verb)

    def wall(self, principal: Principal | None) -> AbstractAsyncContextManager[None]:
        """The tenant wall (PostgreSQL row-level security) for queries of the principal."""
        return tenant_wall(self.registry.engine, principal)

    async def load(self, entity: Entity, row: dict[str, Any], needed: set[str]) -> dict[str, Any]:
        """`row` with the references on `needed` paths replaced by their rows (or None)."""
        return await load_references(self.registry, entity, row, needed)

    async def recent_changes(self, principal: Principal, limit: int = 20) -> builtins.list[Any]:
        """The latest timeline entries of records the principal may read now (`recent.py`)."""
        return await self._history.recent(self._scope(principal), limit)

    def _change_rows(
        self,
        principal: Principal,
        entity: Entity,
        record_id: Any,
        event: str,
        old: dict[str, Any],
        new: dict[str, Any],
        request_id: str | None,
    ) -> Rows:
        """The timeline and outbox rows `write_change` adds to a change of `record_id`."""
        change = Change(entity, event, old)
        return change_rows(self.registry, principal, change, new, request_id, record_id)

    # -- reads -----------------------------------------------------------------------------

    async def list(
        self, principal: Principal, entity_name: str, query: ListQuery = FIRST_PAGE
    ) -> list[dict[str, Any]]:
        """The rows of `page`, for callers that take no cursor (the admin, fixtures)."""
        return (await self.page(principal, entity_name, query)).rows

    async def page(
        self, principal: Principal, entity_name: str, query: ListQuery = FIRST_PAGE
    ) -> Page:
        """Readable rows of the principal's tenant, as `query` asks (pages.ListQuery); a page
        read after the previous one's `following` is stable under concurrent writes."""
        return await self._reader.page(self._scope(principal), self.entity(entity_name), query)

    async def count(
        self, principal: Principal, entity_name: str, query: ListQuery = FIRST_PAGE
    ) -> int:
        """How many readable rows match `query.filter` and `query.search`."""
        scope, entity = self._scope(principal), self.entity(entity_name)
        count, _ = await self._reader.count(scope, entity, query)
        return count

    async def estimate_count(
        self, principal: Principal, entity_name: str, query: ListQuery = FIRST_PAGE
    ) -> tuple[int, bool]:
        """(rows, exact?): the planner's estimate on PostgreSQL, the exact count on SQLite."""
        scope, entity = self._scope(principal), self.entity(entity_name)
        return await self._reader.count(scope, entity, query, estimate=True)

    async def get(
        self,
        principal: Principal,
        entity_name: str,
        record_id: Any,
        *,
        fields: builtins.list[str] | None = None,
        expand: builtins.list[str] | None = None,
    ) -> dict[str, Any]:
        scope, entity = self._scope(principal), self.entity(entity_name)
        return await self._reader.get(scope, entity, record_id, fields=fields, expand=expand)

    async def timeline(
        self, principal: Principal, entity_name: str, record_id: Any
    ) -> builtins.list[dict[str, Any]]:
        """The newest entries (a page of the most there may be); see `timeline_page`."""
        page = await self.timeline_page(principal, entity_name, record_id, limit=MAX_LIMIT)
        return page.rows

    async def timeline_page(
        self,
        principal: Principal,
        entity_name: str,
        record_id: Any,
        *,
        limit: int = 50,
        after: Any = None,
    ) -> Page:
        """Entries newest first, after the one `after` names; fields the caller cannot read
        are left out of `changes`. A deleted record's timeline stays readable to callers
        whose read rule matched its last values."""
        scope, entity = self._scope(principal), self.entity(entity_name)
        return await self._history.page(scope, entity, record_id, limit, after)

    # -- writes ----------------------------------------------------------------------------

    async def create(
        self,
        principal: Principal,
        entity_name: str,
        values: dict[str, Any],
        *,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        scope, entity = self._scope(principal), self.entity(entity_name)
        return await self._mutations.create(scope, entity, values, request_id)

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
        versions = {record_id: version} if version is not None else None
        records = await self.update_many(
            principal, entity_name, [record_id], values, versions=versions, request_id=request_id
        )
        return records[0]

    async def update_many(
        self,
        principal: Principal,
        entity_name: str,
        record_ids: Sequence[Any],
        values: dict[str, Any],
        *,
        versions: Versions | None = None,
        request_id: str | None = None,
    ) -> builtins.list[dict[str, Any]]:
        """Set `values` on every record of `record_ids` (optionally each at the version the
        caller read), all or none: the records as they are now, in the order given."""
        scope, entity = self._scope(principal), self.entity(entity_name)
        return await self._mutations.update_many(
            scope, entity, record_ids, values, versions, request_id
        )

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
        scope, entity = self._scope(principal), self.entity(entity_name)
        return await self._mutations.transition(scope, entity, record_id, name, version, request_id)

    async def start_action(
        self,
        principal: Principal,
        entity_name: str,
        record_id: Any,
        workflow: str,
        *,
        holds: Holds,
    ) -> dict[str, Any]:
        """Start the manual workflow `workflow` on a record: its pending run (`actions.py`)."""
        scope, entity = self._scope(principal), self.entity(entity_name)
        manual = manual_workflow(entity, self.project.workflows, workflow)
        return await start_action(self._writer, scope, entity, record_id, manual, holds)

    async def delete(
        self,
        principal: Principal,
        entity_name: str,
        record_id: Any,
        *,
        version: int | None = None,
        request_id: str | None = None,
    ) -> None:
        versions = {record_id: version} if version is not None else None
        await self.delete_many(
            principal, entity_name, [record_id], versions=versions, request_id=request_id
        )

    async def delete_many(
        self,
        principal: Principal,
        entity_name: str,
        record_ids: Sequence[Any],
        *,
        versions: Versions | None = None,
        request_id: str | None = None,
    ) -> None:
        """Delete every record of `record_ids`, following `on_delete` of the references to
        them, all or none."""
        scope, entity = self._scope(principal), self.entity(entity_name)
        await self._mutations.delete_many(scope, entity, record_ids, versions, request_id)

    # -- data in (service/imports.py) and restore (service/restore.py) ----------------------

    async def import_rows(
        self,
        principal: Principal,
        entity_name: str,
        rows: Iterable[SourceRow],
        options: ImportOptions,
        progress: Progress | None = None,
    ) -> ImportReport:
        """Check and write many rows by the rules of create and update (imports.py)."""
        scope, entity = self._scope(principal), self.entity(entity_name)
        return await import_rows(self._writer, scope, entity, rows, options, progress)

    def check_import(self, principal: Principal, entity_name: str, options: ImportOptions) -> None:
        """Forbidden or BadImport now for an import that could not start (imports.py)."""
        check_options(self._scope(principal), self.entity(entity_name), options)

    async def restore(
        self,
        principal: Principal,
        entity_name: str,
        record_id: Any,
        entry_id: Any,
        *,
        version: int | None = None,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        """Put a record back to its values as of one of its timeline entries (restore.py)."""
        scope, entity = self._scope(principal), self.entity(entity_name)
        return await restore(
            self._mutations, scope, entity, record_id, entry_id, version, request_id
        )

    # -- files (service/files.py) -----------------------------------------------------------

    async def upload_file(
        self,
        principal: Principal,
        entity_name: str,
        record_id: Any,
        field: str,
        incoming: Incoming,
        *,
        version: int | None = None,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        """Store `incoming` as the file of `field` (replacing any): the record as it is now."""
        scope, entity = self._scope(principal), self.entity(entity_name)
        versions = {record_id: version} if version is not None else None
        return await self._files.upload(
            scope, entity, record_id, field, incoming, versions, request_id
        )

    async def download_file(
        self, principal: Principal, entity_name: str, record_id: Any, field: str
    ) -> Download:
        """The file of `field` (its reference, and the storage holding it); NotFound when the
        caller may not read the record or the field, or there is no file."""
        scope, entity = self._scope(principal), self.entity(entity_name)
        return await self._files.download(scope, entity, record_id, field)

    async def remove_file(
        self,
        principal: Principal,
        entity_name: str,
        record_id: Any,
        field: str,
        *,
        version: int | None = None,
        request_id: str | None = None,
    ) -> None:
        scope, entity = self._scope(principal), self.entity(entity_name)
        versions = {record_id: version} if version is not None else None
        await self._files.remove(scope, entity, record_id, field, versions, request_id)
