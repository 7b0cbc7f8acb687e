"""The actions of a workflow's `do`, one module each, all keeping the contract of `base`."""

from __future__ import annotations

from runtime.workflows.actions import create, email, http, update
from runtime.workflows.actions.base import ActionKind

ACTIONS: dict[str, ActionKind] = {
    kind.name: kind for kind in (update.ACTION, create.ACTION, http.ACTION, email.ACTION)
}
