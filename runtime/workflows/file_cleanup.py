"""Files a committed change replaced or removed, deleted by the worker that processes the
change's outbox event (`payload.remove_files`, written by `service.writes.replaced_files`).
Deleting happens only after the commit, so a rolled-back change never loses a live file;
deleting an object already gone is no error, so an event processed twice is harmless."""

from __future__ import annotations

import logging
from typing import Any

from runtime.service import RecordService
from runtime.storage import check_key
from runtime.workflows.runner import payload_of

log = logging.getLogger("plinth.files")


def files_to_remove(event: dict[str, Any]) -> list[str]:
    keys = payload_of(event).get("remove_files") or []
    return [k for k in keys if isinstance(k, str)]


async def remove_files(service: RecordService, event: dict[str, Any]) -> None:
    """Delete the event's replaced files; a storage error propagates (the event is retried)."""
    keys = files_to_remove(event)
    if not keys:
        return
    if service.storage is None:
        log.warning("event %s: no storage to remove %d file(s) from", event["id"], len(keys))
        return
    for key in keys:
        await service.storage.delete(check_key(key))
