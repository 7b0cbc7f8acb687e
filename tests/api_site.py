"""A running `plinth serve` whose project has every kind of route the API mounts: the
workflows guide's Ticket (states, the manual `escalate`) and Note, and a Document with a file
field; one organization, its owner, an API token of theirs and records to aim at. For the
OpenAPI, fuzz and schemathesis tests (one server per module and database kind)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.conftest import PASSWORD, module_database, plinth, prepare_site, start_server, stop
from tests.workflows.guide import write_project

DOCUMENT = """\
entity: Document
fields:
  title: {type: string, required: true}
  pdf:   {type: file, accept: [application/pdf], max_size: 1KB}
"""
EMAIL, ORG = "owner@fuzz.test", "fuzz"


@dataclass
class ApiSite:
    url: str
    env: dict[str, str]
    workdir: Path
    token: str  # the owner's API token (logging out cannot end it)
    ids: dict[str, str]  # a record's id per collection: tickets, notes, documents

    def client(self) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


def write_definitions(folder: Path) -> Path:
    write_project(folder, ["escalate"])
    (folder / "entities" / "document.yaml").write_text(DOCUMENT)
    return folder


def _owner(env: dict[str, str], workdir: Path) -> str:
    plinth("org", "create", ORG, env=env, cwd=workdir)
    plinth("user", "create", EMAIL, "--password-stdin", "--org", ORG, "--role", "owner",
           env=env, cwd=workdir, input=PASSWORD)  # fmt: skip
    made = plinth("token", "create", "--user", EMAIL, "--org", ORG, "--name", "fuzz",
                  env=env, cwd=workdir)  # fmt: skip
    return made.stdout.strip().splitlines()[-1].strip()


def serve_api_site(kind: str, workdir: Path, **extra_env: str) -> Iterator[ApiSite]:
    """The site on a database of `kind` (iterate it: it cleans up)."""
    definitions = write_definitions(workdir / "definitions")
    for database_url in module_database(kind, workdir):
        env = prepare_site(
            database_url, workdir, PLINTH_DEFINITIONS=str(definitions),
            PLINTH_STORAGE_URL=f"file://{workdir / 'media'}", **extra_env,
        )  # fmt: skip
        token = _owner(env, workdir)
        url, process = start_server(env, workdir)
        try:
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
                ticket = client.post("/api/tickets", json={"subject": "aim"})
                document = client.post("/api/documents", json={"title": "aim"})
                assert ticket.status_code == document.status_code == 201, ticket.text
                note = client.post(
                    "/api/notes", json={"body": "aim", "ticket": ticket.json()["id"]}
                )
                assert note.status_code == 201, note.text
            ids = {"tickets": ticket.json()["id"], "documents": document.json()["id"],
                   "notes": note.json()["id"]}  # fmt: skip
            yield ApiSite(url, env, workdir, token, ids)
        finally:
            stop(process)


def server_log(site: ApiSite) -> str:
    return "".join(p.read_text() for p in site.workdir.glob("serve-*.log"))


__all__ = ["EMAIL", "ORG", "ApiSite", "serve_api_site", "server_log"]
