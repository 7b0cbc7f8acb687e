"""Files on the local disk (`file://./media`), under one root no key can leave.

A file is written to a temporary name in its folder and renamed into place once complete, so a
reader never sees half a file and a failed upload leaves nothing behind. Disk work runs in a
thread, so a slow disk never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from runtime.storage.base import CHUNK, NotStored, StorageError, check_key


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / check_key(key)).resolve()
        if not path.is_relative_to(self.root):
            raise StorageError(f"not a storage key: {key!r}")
        return path

    async def check(self) -> None:
        """The root is a folder this process can write (made if missing); else StorageError.
        (Optional, like S3Storage.check: for a start-up or health check.)"""
        try:
            await asyncio.to_thread(self.root.mkdir, parents=True, exist_ok=True)
        except OSError as error:
            raise StorageError(f"storage folder {str(self.root)!r} unusable: {error}") from None
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise StorageError(f"storage folder {str(self.root)!r} is not writable by this user")

    async def put(self, key: str, chunks: AsyncIterator[bytes], content_type: str) -> int:
        path = self._path(key)
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
        handle = await asyncio.to_thread(open, partial, "wb")
        written = 0
        try:
            async for chunk in chunks:
                await asyncio.to_thread(handle.write, chunk)
                written += len(chunk)
            await asyncio.to_thread(handle.flush)
            await asyncio.to_thread(os.fsync, handle.fileno())
            handle.close()
            await asyncio.to_thread(os.replace, partial, path)
        except BaseException:
            handle.close()
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
            raise
        return written

    async def open(self, key: str) -> AsyncIterator[bytes]:
        path = self._path(key)
        try:
            handle = await asyncio.to_thread(open, path, "rb")
        except FileNotFoundError:
            raise NotStored(key) from None
        try:
            while chunk := await asyncio.to_thread(handle.read, CHUNK):
                yield chunk
        finally:
            handle.close()

    async def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            await asyncio.to_thread(self._path(key).unlink)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).is_file)

    async def size(self, key: str) -> int:
        try:
            return (await asyncio.to_thread(self._path(key).stat)).st_size
        except FileNotFoundError:
            raise NotStored(key) from None

    async def presigned_url(
        self, key: str, *, filename: str, content_type: str, expires: int, inline: bool = False
    ) -> str | None:
        self._path(key)  # a bad key is refused here as everywhere
        return None  # the API streams local files itself
