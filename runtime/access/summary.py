"""What a principal may do, as `GET /auth/me` shows it: per entity, each verb as true, false
or "rule" (allowed on the rows a row rule matches), the readable and writable fields, and the
allowed transitions. Hidden fields are never named."""

from __future__ import annotations

from typing import Any

from runtime.access.policy import VERBS, Policy, policy_for
from runtime.access.principal import Principal
from runtime.access.view import PolicyView
from runtime.definitions.model import Entity, Project


def _verb(rule: object) -> bool | str:
    return rule if isinstance(rule, bool) else "rule"


def describe_entity(policy: Policy, entity: Entity, *, is_system: bool = False) -> dict[str, Any]:
    """{"read": true|false|"rule", ..., "fields": {"read": [...], "write": [...]},
    "transitions": [...]} of one entity."""
    view = PolicyView(entity, policy, is_system)
    can_read = policy.read is not False
    can_write = policy.create is not False or policy.update is not False
    readable = [f.name for f in entity.fields if can_read and view.may_read(f)]
    writable = [
        f.name
        for f in entity.fields
        if can_write and not f.hidden and view.write_refusal(f) is None
    ]
    names = [t.name for t in entity.states.transitions] if entity.states else []
    allowed = [n for n in names if view.may_transition(n)]
    return {
        **{verb: _verb(policy.rule(verb)) for verb in VERBS},
        "fields": {"read": readable, "write": writable},
        "transitions": allowed,
    }


def describe_permissions(project: Project, principal: Principal) -> dict[str, dict[str, Any]]:
    """describe_entity for every entity of the project, keyed by entity name."""
    return {
        name: describe_entity(
            policy_for(project, principal, name), entity, is_system=principal.is_system
        )
        for name, entity in sorted(project.entities.items())
    }
