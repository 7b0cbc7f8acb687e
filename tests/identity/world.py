"""A populated organization on a running server, for the access tests: one user per demo
role (and `owner`), a colleague, another organization, and HTTP clients that authenticate
each user as a session (cookie + CSRF header), a JWT or an API token."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from runtime.access import Principal
from runtime.database import engine_from_url
from runtime.definitions import load_project
from runtime.identity import accounts, api_tokens
from runtime.schema import build_registry
from runtime.schema.registry import Registry
from runtime.service import RecordService
from tests.conftest import DEFINITIONS, PASSWORD, Site, access_token, bearer_client

PROJECT = load_project(DEFINITIONS)
ROLES = ["owner", *sorted(PROJECT.roles)]
CALLERS = ["session", "jwt", "api_token"]
SAMPLE = {"Ticket": {"subject": "sample"}, "Contact": {"name": "sample"}}


@dataclass(frozen=True)
class Member:
    email: str
    user_id: uuid.UUID
    org_id: uuid.UUID
    org_slug: str


def run(coro: Any) -> Any:
    return asyncio.run(coro)


@dataclass
class World:
    site: Site
    registry: Registry
    users: dict[str, Member] = field(default_factory=dict)  # role (or "colleague") → member
    outsider: Member | None = None  # the owner of another organization
    _clients: dict[tuple[str, str], httpx.Client] = field(default_factory=dict)

    @classmethod
    def build(cls, site: Site) -> World:
        registry = build_registry(PROJECT, engine_from_url(site.env["PLINTH_DATABASE_URL"]))
        world = cls(site=site, registry=registry)
        suffix = uuid.uuid4().hex[:8]
        home, away = f"home-{suffix}", f"away-{suffix}"

        async def create() -> None:
            for slug in (home, away):
                await accounts.create_organization(registry, slug, slug.title())
            for role in [*ROLES, "colleague"]:
                world.users[role] = await world._member(
                    f"{role}-{suffix}@home.test", home, "owner" if role == "colleague" else role
                )
            world.outsider = await world._member(f"owner-{suffix}@away.test", away, "owner")

        run(create())
        return world

    async def _member(self, email: str, slug: str, role: str) -> Member:
        user = await accounts.create_user(self.registry, email, PASSWORD)
        await accounts.grant_role(self.registry, email, slug, role)
        org = await accounts.find_organization(self.registry, slug)
        return Member(email, user["id"], org["id"], slug)

    def record(self, entity: str, by: Member, **values: Any) -> dict[str, Any]:
        """A record created (through the service) by `by` in their organization."""
        principal = Principal(
            tenant_id=by.org_id,
            actor=by.email,
            user_id=by.user_id,
            email=by.email,
            roles=frozenset({"owner"}),
        )
        service = RecordService(self.registry)
        return run(service.create(principal, entity, {**SAMPLE[entity], **values}))

    def row_owner(self, role: str, row: str) -> Member:
        """Whose row it is: the caller's own, a colleague's, or another organization's."""
        if row == "own":
            return self.users[role]
        if row == "colleague":
            return self.users["colleague"]
        assert self.outsider is not None
        return self.outsider

    def client(self, role: str, caller: str) -> httpx.Client:
        """An HTTP client of the user with `role`, authenticated as `caller`."""
        key = (role, caller)
        if key not in self._clients:
            self._clients[key] = self._login(self.users[role], caller)
        return self._clients[key]

    def _login(self, member: Member, caller: str) -> httpx.Client:
        base = self.site.url
        if caller == "session":
            return session_client(base, member.email)
        if caller == "jwt":
            return bearer_client(base, access_token(base, member.email))
        _, token = run(
            api_tokens.create_api_token(self.registry, member.email, member.org_slug, "matrix")
        )
        return bearer_client(base, token)

    def close(self) -> None:
        for client in self._clients.values():
            client.close()


def session_client(base: str, email: str, **login: Any) -> httpx.Client:
    """Logged in with POST /auth/login: the session cookie, and the CSRF header set."""
    client = httpx.Client(base_url=base, timeout=30)
    response = client.post("/auth/login", json={"email": email, "password": PASSWORD, **login})
    assert response.status_code == 200, response.text
    client.headers["X-CSRFToken"] = response.json()["csrf_token"]
    return client


def world_fixture(server: Site) -> Iterator[World]:
    world = World.build(server)
    try:
        yield world
    finally:
        world.close()
