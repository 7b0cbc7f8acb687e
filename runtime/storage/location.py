"""What `PLINTH_STORAGE_URL` names, read without touching the storage: `settings.py` checks it
at start-up, so a typo stops the process before any upload fails."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qsl, urlsplit

from runtime.storage.base import StorageError

# S3's bucket naming rules: 3-63 lowercase letters, digits, dots and hyphens, letter or digit
# at both ends.
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_PREFIX_PART = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass(frozen=True, slots=True)
class Location:
    scheme: Literal["file", "s3"]
    where: str  # file: the folder; s3: the bucket
    prefix: str = ""  # s3: the key prefix every object is stored under ("" or "a/b/")
    presign: bool = True  # s3: hand out presigned download URLs (`?presign=off`: never)


def storage_location(url: str) -> Location:
    """`file://./media`, `file:///abs/path`, `s3://bucket` or `s3://bucket/prefix` (and
    `?presign=off`); else a StorageError naming the variable."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        return Location("file", (parts.netloc + parts.path) or ".")
    if parts.scheme != "s3":
        raise StorageError(f"PLINTH_STORAGE_URL={url!r}: expected file://PATH or s3://BUCKET")
    if not parts.netloc:
        raise StorageError(f"PLINTH_STORAGE_URL={url!r}: an s3:// URL names a bucket (s3://BUCKET)")
    if parts.fragment or "@" in parts.netloc or ":" in parts.netloc:
        raise StorageError(
            f"PLINTH_STORAGE_URL={url!r}: expected s3://BUCKET[/PREFIX]; the endpoint goes in "
            "PLINTH_S3_ENDPOINT_URL and credentials in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
        )
    if not _BUCKET.match(parts.netloc) or ".." in parts.netloc:
        raise StorageError(f"PLINTH_STORAGE_URL={url!r}: {parts.netloc!r} is not an S3 bucket name")
    prefix = [part for part in parts.path.split("/") if part]
    if any(not _PREFIX_PART.match(part) or part in (".", "..") for part in prefix):
        raise StorageError(f"PLINTH_STORAGE_URL={url!r}: {parts.path!r} is not a key prefix")
    return Location(
        "s3", parts.netloc, "".join(f"{part}/" for part in prefix), _presign(url, parts.query)
    )


def _presign(url: str, query: str) -> bool:
    options = dict(parse_qsl(query, keep_blank_values=True))
    unknown = sorted(set(options) - {"presign"})
    if unknown:
        raise StorageError(f"PLINTH_STORAGE_URL={url!r}: unknown option {unknown[0]!r}")
    value = options.get("presign", "on").lower()
    if value not in ("on", "off", "true", "false"):
        raise StorageError(f"PLINTH_STORAGE_URL={url!r}: presign={value!r}, expected on or off")
    return value in ("on", "true")


def check_endpoint_url(url: str) -> str:
    """`PLINTH_S3_ENDPOINT_URL`, if it is an http(s) URL of a host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise StorageError(
            f"PLINTH_S3_ENDPOINT_URL={url!r}: expected http(s)://HOST[:PORT], e.g. http://minio:9000"
        )
    return url
