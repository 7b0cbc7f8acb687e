"""A running `plinth serve` (in-process worker) on the workflows guide's project with its
`escalate` action, two organizations and users of several roles, for the manual-workflow and
runs-API tests. One per test module and database kind.

Besides the guide's `agent` (granted `escalate`), the test adds roles the guide does not need:
`reader` (may read and update tickets, no action), `noter` (notes only) and `lows` (tickets of
priority 1 only, a row rule); and two workflows that are not actions on Ticket: `tag_new`
(created) and `pin_note` (manual on Note)."""

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
from tests.workflows.guide import write_project

EXTRA_ROLES = {
    "reader": {"Ticket": {"read": True, "update": True}, "Note": {"read": True}},
    "noter": {"Note": {"read": True, "create": True}},
    "lows": {"Ticket": {"read": {"priority": {"eq": 1}}, "update": True, "actions": ["escalate"]}},
}
EXTRA_WORKFLOWS = {
    "tag_new": {
        "on": {"event": "created", "entity": "Ticket"},
        "when": {"subject": {"eq": "tag me"}},
        "do": [{"update": {"priority": 4}}],
    },
    "pin_note": {
        "on": {"event": "manual", "entity": "Note", "label": "Pin"},
        "do": [{"update": {"body": "pinned"}}],
    },
}


@dataclass
class ManualSite:
    url: str
    database_url: str
    definitions: Path
    users: dict[str, str] = field(default_factory=dict)  # who → email
    tokens: dict[str, str] = field(default_factory=dict)  # email → token

    def client(self, who: str) -> httpx.Client:
        return token_client(self.url, self.users[who], self.tokens)

    def ticket(self, who: str, **values: Any) -> dict[str, Any]:
        with self.client(who) as client:
            return post_ticket(client, **values)

    def wait_for_run(self, who: str, run_id: str, timeout: float = 15) -> dict[str, Any]:
        """The run once it is finished (succeeded, skipped or dead)."""
        deadline = time.monotonic() + timeout
        with self.client(who) as client:
            while True:
                run = client.get(f"/api/workflow-runs/{run_id}").json()
                if run["status"] in ("succeeded", "skipped", "dead"):
                    return run
                assert time.monotonic() < deadline, f"run still {run['status']}: {run}"
                time.sleep(0.2)


def write_definitions(folder: Path) -> Path:
    write_project(folder, workflows=["escalate"])
    for name, permissions in EXTRA_ROLES.items():
        role = {"role": name, "permissions": permissions}
        (folder / "roles" / f"{name}.yaml").write_text(yaml.dump(role, sort_keys=False))
    for name, body in EXTRA_WORKFLOWS.items():
        block = {"workflow": name, **body}
        (folder / "workflows" / f"{name}.yaml").write_text(yaml.dump(block, sort_keys=False))
    return folder


# who → (organization, role); `*_b` users are in the second organization
PEOPLE = {
    "agent": ("a", "agent"),
    "reader": ("a", "reader"),
    "noter": ("a", "noter"),
    "lows": ("a", "lows"),
    "owner": ("a", "owner"),
    "agent_b": ("b", "agent"),
    "owner_b": ("b", "owner"),
}


def _add_people(database_url: str, definitions: Path, site: ManualSite) -> None:
    from runtime.database import engine_from_url
    from runtime.definitions import load_project
    from runtime.identity import accounts
    from runtime.schema import build_registry

    suffix = uuid.uuid4().hex[:8]
    orgs = {"a": f"acme-{suffix}", "b": f"globex-{suffix}"}
    site.users = {who: f"{who}-{suffix}@{org}.test" for who, (org, _) in PEOPLE.items()}

    async def create() -> None:
        registry = build_registry(load_project(definitions), engine_from_url(database_url))
        for slug in orgs.values():
            await accounts.create_organization(registry, slug, slug.title())
        for who, (org, role) in PEOPLE.items():
            await accounts.create_user(registry, site.users[who], PASSWORD)
            await accounts.grant_role(registry, site.users[who], orgs[org], role)

    asyncio.run(create())


def serve(kind: str, workdir: Path) -> Iterator[ManualSite]:
    """The site on a fresh database of `kind` (iterate it: it cleans up)."""
    definitions = write_definitions(workdir / "definitions")
    for database_url in module_database(kind, workdir):
        env = prepare_site(database_url, workdir, PLINTH_DEFINITIONS=str(definitions))
        url, process = start_server(env, workdir)
        try:
            site = ManualSite(url=url, database_url=database_url, definitions=definitions)
            _add_people(database_url, definitions, site)
            yield site
        finally:
            stop(process)
