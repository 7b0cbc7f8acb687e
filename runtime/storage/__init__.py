"""Where file fields keep their bytes: one interface (`base.Storage`), two backends."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from runtime.storage.base import (
    CHUNK,
    NotStored,
    Storage,
    StorageError,
    check_key,
    object_key,
)
from runtime.storage.local import LocalStorage

__all__ = [
    "CHUNK",
    "LocalStorage",
    "NotStored",
    "Storage",
    "StorageError",
    "check_key",
    "object_key",
    "storage_from_url",
]


def storage_from_url(url: str, s3_endpoint_url: str | None = None) -> Storage:
    """`file://./media` (relative to the working directory) or `file:///abs/path`."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        return LocalStorage(Path((parts.netloc + parts.path) or "."))
    raise StorageError(f"PLINTH_STORAGE_URL={url!r}: expected file://PATH or s3://BUCKET")
