"""The Principal: the caller of the service, resolved before anything else."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True, slots=True)
class Principal:
    """A user (or the system) acting in one organization (the tenant)."""

    tenant_id: UUID | None
    actor: str  # what the timeline shows: the user's email, or "workflow:<name>"
    user_id: UUID | None = None
    email: str | None = None
    tenant_slug: str | None = None
    roles: frozenset[str] = frozenset()
    is_superuser: bool = False
    is_system: bool = False  # workflows and the CLI: may write read_only fields

    @classmethod
    def system(cls, tenant_id: UUID | None, actor: str) -> Principal:
        return cls(tenant_id=tenant_id, actor=actor, roles=frozenset({"owner"}), is_system=True)

    def variables(self) -> dict[str, object]:
        """The filter variables this principal provides ($user.*, $tenant.id)."""
        return {
            "$user.id": self.user_id,
            "$user.email": self.email,
            "$user.roles": sorted(self.roles),
            "$tenant.id": self.tenant_id,
        }
