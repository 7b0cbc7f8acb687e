"""A running `plinth serve` (in-process worker) for the browser tests of Plinth's admin pages
(tests/test_admin_plinth_browser.py): a Ticket with a state machine (start: new → open,
close: open → closed), a manual workflow `escalate`, a `created` workflow `tag_new` (its
update shows as `workflow:tag_new`; it also writes the hidden `internal`), a manual `ping`
whose http target is a local receiver, and people of several roles in two organizations.
One per test module."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.conftest import (
    PASSWORD,
    module_database,
    post_ticket,
    prepare_site,
    start_server,
    stop,
    token_client,
)
from tests.workflows.receiver import Receiver

TICKET = {
    "entity": "Ticket",
    "display": "{{ subject }}",
    "fields": {
        "subject": {"type": "string", "max_length": 200, "required": True},
        "priority": {"type": "integer", "min": 1, "max": 5, "default": 3},
        "status": {"type": "enum", "choices": ["new", "open", "closed"], "default": "new"},
        "escalated": {"type": "boolean", "default": False},
        "internal": {"type": "text", "hidden": True},  # only workflows write it
    },
    "states": {
        "field": "status",
        "initial": "new",
        "transitions": {
            "start": {"from": "new", "to": "open"},
            "close": {"from": "open", "to": "closed"},
        },
    },
}
ROLES = {
    # edits subjects, moves tickets along, may escalate
    "agent": {"Ticket": {"read": True, "create": True, "update": True,
                         "transitions": ["start", "close"], "actions": ["escalate"]}},
    # edits, but no transition and no action
    "reader": {"Ticket": {"read": True, "create": True, "update": True}},
    # only the tickets it created
    "mine": {"Ticket": {"read": {"created_by": {"eq": "$user.id"}}, "create": True}},
}  # fmt: skip


def workflows(hook: str) -> dict[str, dict[str, Any]]:
    return {
        "escalate": {
            "on": {"event": "manual", "entity": "Ticket", "label": "Escalate"},
            "when": {"escalated": {"eq": False}},
            "do": [{"update": {"escalated": True, "priority": 5}}],
        },
        "tag_new": {
            "on": {"event": "created", "entity": "Ticket"},
            "when": {"subject": {"eq": "tag me"}},
            "do": [{"update": {"priority": 4, "internal": "tagged-secret"}}],
        },
        "ping": {
            "on": {"event": "manual", "entity": "Ticket", "label": "Notify the hook"},
            "do": [{"http": {"url": hook, "json": {"id": "$record.id"}, "timeout": "5s"}}],
            "retry": {"attempts": 2, "backoff": "fixed", "initial": "1s"},
        },
    }


def write_definitions(folder: Path, hook: str) -> Path:
    for kind in ("entities", "roles", "workflows"):
        (folder / kind).mkdir(parents=True, exist_ok=True)
    (folder / "entities" / "ticket.yaml").write_text(yaml.dump(TICKET, sort_keys=False))
    for name, permissions in ROLES.items():
        role = {"role": name, "permissions": permissions}
        (folder / "roles" / f"{name}.yaml").write_text(yaml.dump(role, sort_keys=False))
    for name, body in workflows(hook).items():
        block = {"workflow": name, **body}
        (folder / "workflows" / f"{name}.yaml").write_text(yaml.dump(block, sort_keys=False))
    platform = {"name": "Helpdesk", "http": {"allow_hosts": ["127.0.0.1"]}}
    (folder / "platform.yaml").write_text(yaml.dump(platform))
    return folder


# who → (organization, role)
PEOPLE = {
    "owner": ("a", "owner"),
    "agent": ("a", "agent"),
    "reader": ("a", "reader"),
    "mine": ("a", "mine"),
    "agent_b": ("b", "agent"),
}


@dataclass
class PlinthSite:
    url: str
    database_url: str
    definitions: Path
    hook: Receiver
    users: dict[str, str] = field(default_factory=dict)  # who → email
    tokens: dict[str, str] = field(default_factory=dict)  # email → token

    def client(self, who: str) -> httpx.Client:
        return token_client(self.url, self.users[who], self.tokens)

    def ticket(self, who: str, **values: Any) -> dict[str, Any]:
        with self.client(who) as client:
            return post_ticket(client, **values)

    def timeline(self, who: str, ticket_id: str) -> list[dict[str, Any]]:
        with self.client(who) as client:
            response = client.get(f"/api/tickets/{ticket_id}/timeline")
        assert response.status_code == 200, response.text
        entries: list[dict[str, Any]] = response.json()["data"]
        return entries

    def wait_for_actor(self, ticket_id: str, actor: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not any(e["actor"] == actor for e in self.timeline("owner", ticket_id)):
            assert time.monotonic() < deadline, f"no change by {actor} on {ticket_id}"
            time.sleep(0.2)


def _add_people(site: PlinthSite) -> None:
    from runtime.database import engine_from_url
    from runtime.definitions import load_project
    from runtime.identity import accounts
    from runtime.schema import build_registry

    suffix = uuid.uuid4().hex[:8]
    orgs = {"a": f"acme-{suffix}", "b": f"globex-{suffix}"}
    site.users = {who: f"{who}-{suffix}@{orgs[org]}.test" for who, (org, _) in PEOPLE.items()}

    async def create() -> None:
        engine = engine_from_url(site.database_url)
        registry = build_registry(load_project(site.definitions), engine)
        for slug in orgs.values():
            await accounts.create_organization(registry, slug, slug.title())
        for who, (org, role) in PEOPLE.items():
            await accounts.create_user(registry, site.users[who], PASSWORD)
            await accounts.grant_role(registry, site.users[who], orgs[org], role)

    asyncio.run(create())


def serve(workdir: Path) -> Iterator[PlinthSite]:
    """The site on a fresh PostgreSQL database (iterate it: it cleans up)."""
    with Receiver() as hook:
        definitions = write_definitions(workdir / "definitions", hook.url("/hook"))
        for database_url in module_database("postgres", workdir):
            env = prepare_site(database_url, workdir, PLINTH_DEFINITIONS=str(definitions))
            url, process = start_server(env, workdir)
            try:
                site = PlinthSite(url, database_url, definitions, hook)
                _add_people(site)
                yield site
            finally:
                stop(process)
