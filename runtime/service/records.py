"""RecordService: the facade callers hold. Each method binds the caller's scope
(`scope.CallerScope`) and hands it to one collaborator: `reads.Reader` for reads,
`mutations.Mutations` for changes (which write through `writes.ChangeWriter`). It holds no
rule of its own."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
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
from runtime.service.mutations import Mutations, Versions
from runtime.service.reads import Reader, search_fields
from runtime.service.recent import recent_changes
from runtime.service.scope import NOTHING, CallerScope, PolicyViews, load_references
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
        self._reader = Reader(registry)
        self._writer = ChangeWriter(registry)
        self._mutations = Mutations(self._writer)
        self._files = FileService(self._writer, self._mutations, storage)

    def _scope(self, principal: Principal) -> CallerScope:
        return CallerScope(self.registry, self._views, principal)

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

    async def recent_changes(
        self, principal: Principal, *, limit: int = 20
    ) -> builtins.list[dict[str, Any]]:
        """The latest timeline entries across entities of records the principal may read now,
        newest first (`recent.py`)."""
        return await recent_changes(self._scope(principal), limit)

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
        return await self._reader.list(
            self._scope(principal),
            self.entity(entity_name),
            filter=filter,
            search=search,
            sort=sort,
            limit=limit,
            offset=offset,
            fields=fields,
            expand=expand,
        )

    async def count(
        self,
        principal: Principal,
        entity_name: str,
        *,
        filter: Any = None,
        search: str | None = None,
    ) -> int:
        scope, entity = self._scope(principal), self.entity(entity_name)
        return await self._reader.count(scope, entity, filter=filter, search=search)

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
        """Entries newest first; fields the caller cannot read are left out of `changes`."""
        scope, entity = self._scope(principal), self.entity(entity_name)
        return await self._reader.timeline(scope, entity, record_id)

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
