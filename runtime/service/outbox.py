"""The outbox: one event per change, in the change's transaction; workers consume it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from runtime.access import Principal
from runtime.service.ids import new_id
from runtime.service.values import json_dumps


def event(*, change: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    """The outbox row of one change (`change`: the columns it shares with the timeline
    entry); its UUID travels with every action it triggers."""
    return {
        "id": new_id(),
        **change,
        "payload": json_dumps(payload),
        "created_at": dt.datetime.now(dt.UTC),
        "attempts": 0,
    }


def user_of(principal: Principal) -> dict[str, Any]:
    """Who made the change, as the event's workflows see it (`$user.id`, `$user.email`,
    `$user.roles`): the user's roles at the time of the change, not at run time. A change
    made by the system (a workflow, the command line) has no user: nulls and no roles."""
    if principal.is_system:
        return {"id": None, "email": None, "roles": []}
    return {
        "id": str(principal.user_id) if principal.user_id else None,
        "email": principal.email,
        "roles": sorted(principal.roles),
    }
