"""The outbox: one event per change, in the change's transaction; workers consume it."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any


def event(*, change: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    """The outbox row of one change (`change`: the columns it shares with the timeline
    entry); its UUID travels with every action it triggers."""
    return {
        "id": uuid.uuid4(),
        **change,
        "payload": json.dumps(payload),
        "created_at": dt.datetime.now(dt.UTC),
        "attempts": 0,
    }
