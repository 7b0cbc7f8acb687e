"""A file field's stored value: the JSON text of its reference `{key, name, size, content_type,
sha256}`. Only the server writes it (after an upload); clients see it without the key, with
the URL that downloads it, and the timeline keeps only `{name, size, sha256}`."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from runtime.fields.values import Invalid


@dataclass(frozen=True, slots=True)
class FileRef:
    key: str  # where the bytes are in the storage (runtime.storage.object_key)
    name: str  # the file name the client gave, as given
    size: int
    content_type: str
    sha256: str  # hex digest of the bytes

    def dump(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)


def load(stored: Any) -> FileRef | None:
    """The reference in a column value (JSON text, or a dict from a JSON driver); None for
    none, or for a value no upload wrote (a legacy plain string)."""
    if isinstance(stored, str):
        try:
            stored = json.loads(stored)
        except ValueError:
            return None
    if not isinstance(stored, dict):
        return None
    try:
        return FileRef(**{k: stored[k] for k in FileRef.__slots__})
    except (KeyError, TypeError):
        return None


def shown(stored: Any, url: str) -> dict[str, Any] | None:
    """What a record's JSON shows of the file: no key, and the URL that downloads it."""
    ref = load(stored)
    if ref is None:
        return None
    return {
        "name": ref.name,
        "size": ref.size,
        "content_type": ref.content_type,
        "sha256": ref.sha256,
        "url": url,
    }


def summary(stored: Any) -> dict[str, Any] | None:
    """What the timeline records of a file change: not the key, not the bytes."""
    ref = load(stored)
    return None if ref is None else {"name": ref.name, "size": ref.size, "sha256": ref.sha256}


def key_of(stored: Any) -> str | None:
    ref = load(stored)
    return None if ref is None else ref.key


def given(raw: Any) -> Any:
    """Any input passes the parser: the field's check (`refuse`) names the field."""
    return raw


def refuse(field: Any, value: Any) -> None:
    """A client never sets a file by value (it would name a key): it uploads it."""
    raise Invalid(
        "upload",
        f"a file is uploaded, not set: upload files with POST /api/<collection>/<id>/files/"
        f"{field.name} (null removes the file)",
    )
