"""The policy view: what one caller may do on one entity. "May this caller read / write field
F" is answered here and nowhere else: the service's reads, writes and answers, the admin's
column guard and `GET /auth/me` all ask this view."""

from __future__ import annotations

from dataclasses import dataclass

from runtime.access.policy import Policy, Rule, policy_for
from runtime.access.principal import Principal
from runtime.definitions.model import Entity, Field, Project


@dataclass(frozen=True, slots=True)
class PolicyView:
    entity: Entity
    policy: Policy
    is_system: bool = False  # workflows and the CLI: may write read_only fields

    def rule(self, verb: str) -> Rule:
        return self.policy.rule(verb)

    def may_read(self, field: Field) -> bool:
        """Never a hidden field; otherwise the role's read set decides."""
        allowed = self.policy.read_fields
        return not field.hidden and (allowed is None or field.name in allowed)

    def write_refusal(self, field: Field) -> str | None:
        """Why the caller may not write `field` ("state", "read_only", "forbidden"), or None."""
        if self.entity.states and field.name == self.entity.states.field:
            return "state"
        if field.read_only and not self.is_system:
            return "read_only"
        allowed = self.policy.write_fields
        return "forbidden" if allowed is not None and field.name not in allowed else None

    def may_transition(self, name: str) -> bool:
        allowed = self.policy.transitions
        return self.is_system or "*" in allowed or name in allowed

    def may_run(self, workflow: str) -> bool:
        """May the caller start the manual workflow `workflow` (the role's `actions`)?"""
        allowed = self.policy.actions
        return self.is_system or "*" in allowed or workflow in allowed

    def unreadable(self) -> frozenset[str]:
        """The entity's field names the caller may not see (hidden ones included)."""
        return frozenset(f.name for f in self.entity.fields if not self.may_read(f))


def view_for(project: Project, principal: Principal, entity: Entity) -> PolicyView:
    return PolicyView(entity, policy_for(project, principal, entity.name), principal.is_system)
