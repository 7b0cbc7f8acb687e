"""The storage backends under test, each on real parts: a folder of the test's own, and a
bucket prefix of the test's own on a moto S3 server (one per session, a subprocess)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from runtime.storage import Storage, storage_from_url
from runtime.storage.local import LocalStorage
from runtime.storage.s3 import S3Storage
from tests.storage.s3_server import CREDENTIALS, MotoS3, environment, moto_s3


@pytest.fixture(scope="session")
def s3_server() -> Iterator[MotoS3]:
    with moto_s3() as server:
        yield server


@pytest.fixture
def aws_credentials() -> Iterator[None]:
    """boto3 in this process finds the test credentials where it looks: the environment."""
    with environment(CREDENTIALS):
        yield


@dataclass
class Backend:
    kind: str
    storage: Storage
    leftovers: Callable[[], list[str]]  # whatever the backend holds: files, objects, uploads
    stored: Callable[[str], str]  # how a key's object shows among the leftovers


def local_backend(root: Path) -> Backend:
    def leftovers() -> list[str]:
        return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())

    return Backend("local", LocalStorage(root), leftovers, lambda key: key)


def s3_backend(server: MotoS3) -> Backend:
    prefix = f"t-{uuid.uuid4().hex[:10]}"
    storage = storage_from_url(f"{server.storage_url}/{prefix}", server.endpoint_url)
    assert isinstance(storage, S3Storage)
    client = server.client()

    def leftovers() -> list[str]:
        listed = client.list_objects_v2(Bucket=server.bucket, Prefix=f"{prefix}/")
        uploads = client.list_multipart_uploads(Bucket=server.bucket, Prefix=f"{prefix}/")
        return sorted(
            [f"object {item['Key']}" for item in listed.get("Contents", [])]
            + [f"upload {item['Key']}" for item in uploads.get("Uploads", [])]
        )

    return Backend("s3", storage, leftovers, lambda key: f"object {prefix}/{key}")


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "local":
        return local_backend(tmp_path / "media")
    request.getfixturevalue("aws_credentials")
    return s3_backend(request.getfixturevalue("s3_server"))


@pytest.fixture
def storage(backend: Backend) -> Storage:
    return backend.storage
