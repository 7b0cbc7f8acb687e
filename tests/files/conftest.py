"""A running `plinth serve` whose entity has file fields, its storage, and users: an owner in
each of two organizations and a clerk (who may not read `secret` nor write `photo`).

The storages are those of STORAGES: the disk (`file://` under the module's folder) and an S3
bucket of the module's own on a moto server shared by the session, once presigning downloads
(a 302 to S3) and once not (`?presign=off`: the API streams). `Objects` is the one place these
tests look into a storage, so adding a storage there runs every test on it too."""

from __future__ import annotations

import asyncio
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from tests.storage.s3_server import MotoS3

DOCUMENT = """\
entity: Document
module: files
fields:
  title:  {type: string, required: true}
  pdf:    {type: file, accept: [application/pdf], max_size: 1KB}
  photo:  {type: file, accept: ["image/*"]}
  blob:   {type: file, max_size: 64MB}
  scan:   {type: file, max_size: 9MB}
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
    under a prefix (on the disk: the files under the root; on S3: the objects, and any
    multipart upload not completed nor aborted as `<key> (pending upload)`). `presigned_from`:
    where downloads are redirected to (the S3 endpoint), None where the API streams them."""

    list_keys: Callable[[str], list[str]]
    remove: Callable[[str], None]  # the object under a key, behind the API's back
    presigned_from: str | None = None

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
        """The API as `email`, following a download's redirect as a browser does (httpx drops
        the Authorization header on the way to another origin)."""
        client = self.site.client(email)
        client.follow_redirects = True
        return client

    def served(self, got: httpx.Response) -> httpx.Response:
        """`got`, a download, after checking who served it: S3 after the API's 302 when the
        storage presigns, else the API itself, streaming, with its own ETag (the sha256)."""
        where = self.objects.presigned_from
        if where is None:
            assert got.history == [] and str(got.url).startswith(self.site.url)
            assert re.fullmatch(r'"[0-9a-f]{64}"', got.headers.get("etag", "")), got.headers
        else:
            [redirect] = got.history
            assert redirect.status_code == 302 and str(redirect.url).startswith(self.site.url)
            assert redirect.headers["cache-control"] == "no-store"
            assert str(got.url).startswith(where) and "X-Amz-Signature=" in str(got.url)
            assert "Authorization" not in got.request.headers
        return got

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

    return {"PLINTH_STORAGE_URL": f"file://{media}"}, Objects(
        list_keys, lambda key: (media / key).unlink()
    )


def s3_storage(server: MotoS3, *, presign: bool) -> tuple[dict[str, str], Objects]:
    """A bucket of its own on `server`: its settings, and how to look into it."""
    from tests.storage.s3_server import CREDENTIALS

    bucket, client = server.new_bucket(), server.client()

    def list_keys(prefix: str) -> list[str]:
        listed = client.list_objects_v2(Bucket=bucket, Prefix=prefix)
        uploads = client.list_multipart_uploads(Bucket=bucket, Prefix=prefix)
        return [item["Key"] for item in listed.get("Contents", [])] + [
            f"{item['Key']} (pending upload)" for item in uploads.get("Uploads", [])
        ]

    env = {
        **CREDENTIALS,
        "PLINTH_STORAGE_URL": f"s3://{bucket}" + ("" if presign else "?presign=off"),
        "PLINTH_S3_ENDPOINT_URL": server.endpoint_url,
    }

    def remove(key: str) -> None:
        client.delete_object(Bucket=bucket, Key=key)

    return env, Objects(list_keys, remove, f"{server.endpoint_url}/{bucket}/" if presign else None)


@pytest.fixture(scope="session")
def files_s3() -> Iterator[MotoS3]:
    """One moto S3 server for every module here (each takes a bucket of its own)."""
    from tests.storage.s3_server import moto_s3

    with moto_s3() as server:
        yield server


# The storages the file tests run on: each makes (settings, Objects) for a folder, asking the
# request for what it needs running (the S3 server).
Storage = Callable[[Path, pytest.FixtureRequest], tuple[dict[str, str], Objects]]
STORAGES: dict[str, Storage] = {
    "disk": lambda workdir, _: disk_storage(workdir),
    "s3": lambda _, request: s3_storage(request.getfixturevalue("files_s3"), presign=True),
    "s3-streamed": lambda _, request: s3_storage(
        request.getfixturevalue("files_s3"), presign=False
    ),
}
# The storage does not care which database holds the references: S3 runs on SQLite only.
SETUPS = [
    pytest.param(("disk", "sqlite"), id="disk-sqlite"),
    pytest.param(("disk", "postgres"), id="disk-postgres", marks=pytest.mark.postgres),
    *(pytest.param((kind, "sqlite"), id=f"{kind}-sqlite") for kind in STORAGES if kind != "disk"),
]


@pytest.fixture(scope="module", params=SETUPS)
def files_site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FileSite]:
    storage_kind, database = request.param
    workdir = tmp_path_factory.mktemp("files")
    definitions = write_definitions(workdir / "definitions")
    storage_env, objects = STORAGES[storage_kind](workdir, request)
    for database_url in module_database(database, workdir):
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
