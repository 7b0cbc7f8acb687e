"""Files of records: upload, download, remove, under the same tenant wall, row rules and field
read/write sets as every other field.

An upload is stored first, under a fresh key no client chose, then its reference is committed
through the one write path; if that write fails (a rule, a stale version, a crash) the new
object is deleted. The file it replaces is deleted only after the commit, by the worker that
processes the change's outbox event (`writes.replaced_files`, `workflows/file_cleanup.py`):
a rollback never deletes a live file."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from runtime.definitions.model import Entity, Field
from runtime.fields.file_refs import FileRef, load
from runtime.service.cleaning import check_writable
from runtime.service.errors import NotFound
from runtime.service.mutations import Mutations, Versions, resolve
from runtime.service.reads import present
from runtime.service.scope import CallerScope
from runtime.service.uploads import Checked, Incoming
from runtime.service.writes import Change, ChangeWriter
from runtime.storage import Storage, StorageError, object_key
from runtime.storage.names import file_name


@dataclass(frozen=True, slots=True)
class Download:
    ref: FileRef
    storage: Storage


class FileService:
    def __init__(self, writer: ChangeWriter, mutations: Mutations, storage: Storage | None):
        self.writer, self.mutations, self._storage = writer, mutations, storage

    @property
    def storage(self) -> Storage:
        if self._storage is None:
            raise StorageError("this service was built without a storage (PLINTH_STORAGE_URL)")
        return self._storage

    async def upload(
        self,
        scope: CallerScope,
        entity: Entity,
        record_id: Any,
        name: str,
        incoming: Incoming,
        versions: Versions | None,
        request_id: str | None,
    ) -> dict[str, Any]:
        """Store the upload, then set the field to it: the record as it is now."""
        field = file_field(scope, entity, name)
        async with self.writer.unit(scope.principal):  # refuse before reading any byte
            (old,) = await resolve(scope, entity, [record_id], versions)
            await self._may_write(scope, entity, field, old)
        checked = Checked(field, incoming)
        checked.check_length()
        chunks = await checked.open()
        key = object_key(old.get("tenant_id"), entity.name, old["id"], name)
        try:
            await self.storage.put(key, chunks, checked.content_type)
            ref = FileRef(key, file_name(incoming.name), checked.size, checked.content_type,
                          checked.sha256)  # fmt: skip
            async with self.writer.unit(scope.principal):
                (old,) = await resolve(scope, entity, [record_id], versions)
                await self._may_write(scope, entity, field, old)
                clean = {name: ref.dump()}
                await scope.allow(entity, "update", old | clean)
                change = Change(entity, "updated", old, clean)
                new = await self.writer.write_change(scope.principal, change, request_id)
        except BaseException:
            # the new object is no one's: shielded, so a cancelled request still removes it
            await asyncio.shield(self.storage.delete(key))
            raise
        return present(scope.view(entity), new)

    async def _may_write(
        self, scope: CallerScope, entity: Entity, field: Field, old: dict[str, Any]
    ) -> None:
        await scope.allow(entity, "update", old)
        check_writable(scope.view(entity), [field.name])

    async def remove(
        self,
        scope: CallerScope,
        entity: Entity,
        record_id: Any,
        name: str,
        versions: Versions | None,
        request_id: str | None,
    ) -> None:
        """Set the field to null (the object goes once that committed)."""
        file_field(scope, entity, name)
        await self.mutations.update_many(
            scope, entity, [record_id], {name: None}, versions, request_id
        )

    async def download(
        self, scope: CallerScope, entity: Entity, record_id: Any, name: str
    ) -> Download:
        """The file of a record the caller may read, in a field it may read; else NotFound."""
        file_field(scope, entity, name)
        async with scope.wall():
            row = await scope.fetch(entity, record_id)
        ref = load(row.get(name)) if row is not None else None
        if row is None:
            raise NotFound(f"{entity.name} {record_id} not found")
        if ref is None:
            raise NotFound(f"{entity.name} {record_id} has no file in '{name}'")
        return Download(ref, self.storage)


def file_field(scope: CallerScope, entity: Entity, name: str) -> Field:
    """The file field `name` the caller may read: NotFound otherwise, as for a record it
    cannot see (no telling which)."""
    field = entity.field(name)
    if field is None or field.type != "file" or not scope.view(entity).may_read(field):
        raise NotFound(f"{entity.name} has no file field '{name}'")
    return field
