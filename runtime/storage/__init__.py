"""Where file fields keep their bytes: one interface (`base.Storage`), two backends."""

from __future__ import annotations

import os
from pathlib import Path

from runtime.storage.base import (
    CHUNK,
    NotStored,
    Storage,
    StorageError,
    check_key,
    object_key,
)
from runtime.storage.local import LocalStorage
from runtime.storage.location import Location, check_endpoint_url, storage_location
from runtime.storage.names import content_disposition

__all__ = [
    "CHUNK",
    "LocalStorage",
    "Location",
    "NotStored",
    "Storage",
    "StorageError",
    "check_endpoint_url",
    "check_key",
    "content_disposition",
    "object_key",
    "storage_from_url",
    "storage_location",
]


def storage_from_url(url: str, s3_endpoint_url: str | None = None) -> Storage:
    """`file://./media` (relative to the working directory), `file:///abs/path`, or
    `s3://bucket[/prefix]` (`?presign=off`: no presigned download URLs, for a bucket the
    browsers cannot reach) at `s3_endpoint_url` (default: AWS's own for the region)."""
    location = storage_location(url)
    if location.scheme == "file":
        return LocalStorage(Path(location.where))
    from runtime.storage.s3 import S3Storage  # boto3 loads only where S3 is used

    return S3Storage(
        location.where,
        location.prefix,
        endpoint_url=check_endpoint_url(s3_endpoint_url) if s3_endpoint_url else None,
        region=os.environ.get("AWS_REGION") or None,  # else boto3's: AWS_DEFAULT_REGION, ...
        presign=location.presign,
    )
