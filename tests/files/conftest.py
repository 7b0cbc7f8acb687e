"""A running `plinth serve` whose entity has file fields, its storage, and users: an owner in
each of two organizations and a clerk (who may not read `secret` nor write `photo`).

The storages are those of STORAGES (the disk: `file://` under the module's folder); `Objects`
is the one place these tests look into a storage, so adding a storage there runs every test
on it too."""

from __future__ import annotations

import asyncio
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import (
    DEFINITIONS,
    PASSWORD,
    Site,
    add_tenants,
    module_database,
    prepare_site,
    start_server,
    stop,
)

DOCUMENT = """\
entity: Document
module: files
fields:
  title:  {type: string, required: true}
  pdf:    {type: file, accept: [application/pdf], max_size: 1KB}
  photo:  {type: file, accept: ["image/*"]}
  blob:   {type: file, max_size: 64MB}
  secret: {type: file}
  owner_note: {type: reference, to: Note, on_delete: cascade}
"""
NOTE = "entity: Note\nmodule: files\nfields:\n  text: {type: string}\n"
CLERK = """\
role: clerk
permissions:
  Document:
    read: true
    create: true
    update: true
    delete: true
    fields: {read: [title, pdf, photo, blob], write: [title, pdf, blob]}
"""


def write_definitions(folder: Path) -> Path:
    shutil.copytree(DEFINITIONS, folder)
    (folder / "entities" / "document.yaml").write_text(DOCUMENT)
    (folder / "entities" / "note.yaml").write_text(NOTE)
    (folder / "roles" / "clerk.yaml").write_text(CLERK)
    return folder


@dataclass
class Objects:
    """What the storage holds, as these tests look at it: `list_keys(prefix)` lists the keys
    under a prefix (on the disk: the files under the root; another storage lists its own)."""

    list_keys: Callable[[str], list[str]]

    def of(self, record_id: str) -> list[str]:
        """The keys of the objects stored for a record (`<tenant>/Document/<record>/…`)."""
        return sorted(k for k in self.list_keys("") if f"/Document/{record_id}/" in k)

    def wait_for(self, record_id: str, count: int, timeout: float = 10) -> list[str]:
        """The record's keys once there are `count` of them (the worker removes old ones)."""
        deadline = time.monotonic() + timeout
        while (keys := self.of(record_id)) and len(keys) != count:
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        return keys


@dataclass
class FileSite:
    site: Site
    objects: Objects
    clerk: str
    pid: int

    def client(self, email: str) -> httpx.Client:
        return self.site.client(email)

    def document(self, email: str, **values: object) -> dict:
        with self.client(email) as client:
            response = client.post("/api/documents", json={"title": "doc", **values})
        assert response.status_code == 201, response.text
        return response.json()


def _add_clerk(database_url: str, definitions: Path, site: Site) -> str:
    from runtime.database import engine_from_url
    from runtime.definitions import load_project
    from runtime.identity import accounts
    from runtime.schema import build_registry

    email = f"clerk-{uuid.uuid4().hex[:8]}@acme.test"

    async def create() -> None:
        registry = build_registry(load_project(definitions), engine_from_url(database_url))
        await accounts.create_user(registry, email, PASSWORD)
        await accounts.grant_role(registry, email, site.orgs[site.a], "clerk")

    asyncio.run(create())
    return email


def disk_storage(workdir: Path) -> tuple[dict[str, str], Objects]:
    """A `file://` storage under `workdir`: its settings, and how to look into it."""
    media = workdir / "media"

    def list_keys(prefix: str) -> list[str]:
        found = (media / prefix).rglob("*") if (media / prefix).exists() else []
        return [p.relative_to(media).as_posix() for p in found if p.is_file()]

    return {"PLINTH_STORAGE_URL": f"file://{media}"}, Objects(list_keys)


# The storages the file tests run on: each makes (settings, Objects) for a folder.
STORAGES: dict[str, Callable[[Path], tuple[dict[str, str], Objects]]] = {"disk": disk_storage}


@pytest.fixture(scope="module", params=list(STORAGES))
def storage_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def files_site(
    request: pytest.FixtureRequest, storage_kind: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FileSite]:
    workdir = tmp_path_factory.mktemp("files")
    definitions = write_definitions(workdir / "definitions")
    storage_env, objects = STORAGES[storage_kind](workdir)
    for database_url in module_database(request.param, workdir):
        env = prepare_site(
            database_url, workdir, PLINTH_DEFINITIONS=str(definitions), **storage_env
        )
        url, process = start_server(env, workdir)
        try:
            site = add_tenants(database_url, Site(url=url, env=env, workdir=workdir))
            clerk = _add_clerk(database_url, definitions, site)
            yield FileSite(site, objects, clerk, process.pid)
        finally:
            stop(process)
