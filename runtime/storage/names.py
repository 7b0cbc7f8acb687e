"""File names as clients give them, made safe: the name kept with a file (no folders, no
control characters) and the `Content-Disposition` it is served with. A name is never part of a
storage key; these only keep it from misleading a browser or a shell. Shared by the API's
download route and any backend that serves files itself (a presigned URL's disposition)."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

LONGEST_NAME = 255
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ASCII_UNSAFE = re.compile(r"[^A-Za-z0-9!#$&+.^_`|~ ()-]")


def file_name(raw: str) -> str:
    """The name kept for a file: its last path segment, without control characters or
    leading/trailing dots, at most 255 characters; `file` when nothing is left."""
    name = unicodedata.normalize("NFC", raw).replace("\\", "/").rsplit("/", 1)[-1]
    name = _CONTROL.sub("", name).strip().strip(".")
    return name[:LONGEST_NAME] or "file"


def content_disposition(name: str, *, inline: bool = False) -> str:
    """`attachment` (or `inline`, for a preview) with a name no client can misread: an ASCII
    fallback (no quotes, slashes, control characters) and the exact name as RFC 5987
    `filename*`."""
    clean = file_name(name)
    decomposed = unicodedata.normalize("NFKD", clean)  # é → e + accent: keep the e
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    fallback = _ASCII_UNSAFE.sub("_", plain).strip(" .") or "file"
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(clean, safe='')}"
