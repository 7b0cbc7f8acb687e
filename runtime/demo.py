"""`plinth demo`: two organizations, an admin login and a few tickets, for a first look."""

from __future__ import annotations

import secrets
from typing import Any

from runtime.access import Principal
from runtime.identity import accounts
from runtime.schema.registry import Registry
from runtime.service import RecordService

DEMO_EMAIL = "admin@acme.example"
TICKETS = [
    ("Printer on fire", 5),
    ("Cannot log in to the VPN", 3),
    ("Invoice shows the wrong VAT", 2),
]


async def _organization(registry: Registry, slug: str, name: str) -> dict[str, Any]:
    try:
        return await accounts.find_organization(registry, slug)
    except accounts.AccountError:
        return await accounts.create_organization(registry, slug, name)


async def seed(registry: Registry) -> dict[str, str]:
    """Create what is missing and give the demo admin a fresh password; returns the login."""
    acme = await _organization(registry, "acme", "Acme Corp")
    await _organization(registry, "globex", "Globex (another tenant)")
    password = secrets.token_urlsafe(12)
    try:
        user = await accounts.find_user(registry, DEMO_EMAIL)
        table = registry.user
        await table.update({table.password: password}).where(table.id == user["id"]).run()
    except accounts.AccountError:
        await accounts.create_user(registry, DEMO_EMAIL, password)
        await accounts.grant_role(registry, DEMO_EMAIL, "acme", "owner")
        await _tickets(registry, acme)
    return {"email": DEMO_EMAIL, "password": password, "organization": "acme"}


async def _tickets(registry: Registry, org: dict[str, Any]) -> None:
    if "Ticket" not in registry.entities or "Contact" not in registry.entities:
        return
    service = RecordService(registry)
    principal = Principal.system(org["id"], "demo")
    contact = await service.create(
        principal, "Contact", {"name": "Wile E. Coyote", "email": "wile@acme.example"}
    )
    for subject, priority in TICKETS:
        await service.create(
            principal,
            "Ticket",
            {"subject": subject, "priority": priority, "contact": contact["id"]},
        )
