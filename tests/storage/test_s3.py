"""What only the S3 backend does: multipart at the part boundaries, the bucket prefix,
presigned URLs turned off, and the errors an operator sees when S3 is down, the bucket is
missing, the credentials are refused or there are none."""

from __future__ import annotations

import time

import pytest

from runtime.storage import StorageError, storage_from_url
from runtime.storage.s3 import PART, S3Storage
from tests.conftest import free_port
from tests.storage.conftest import Backend, s3_backend
from tests.storage.s3_server import CREDENTIALS, MotoS3, environment, moto_s3
from tests.storage.test_backends import Source, read_back

pytestmark = pytest.mark.usefixtures("aws_credentials")


@pytest.mark.parametrize("size", [PART, 2 * PART + 1], ids=["one-part", "two-parts-and-a-byte"])
async def test_multipart_at_the_part_boundaries(s3_server: MotoS3, size: int) -> None:
    backend = s3_backend(s3_server)
    source = Source(size, seed=size)
    assert await backend.storage.put("a/b/c/d/e", source.chunks(), "image/png") == size
    assert await read_back(backend, "a/b/c/d/e") == (size, source.digest.hexdigest(), 65536)
    head = s3_server.client().head_object(
        Bucket=s3_server.bucket,
        Key=backend.stored("a/b/c/d/e").removeprefix("object "),
    )
    assert head["ContentType"] == "image/png"
    assert head["ETag"].endswith(f'-{-(-size // PART)}"')  # a multipart object of that many parts
    assert backend.leftovers() == [backend.stored("a/b/c/d/e")]


async def test_objects_go_under_the_urls_prefix(s3_server: MotoS3) -> None:
    storage = storage_from_url(f"s3://{s3_server.bucket}/tenants/media/", s3_server.endpoint_url)
    await storage.put("x/y/z/f/1", Source(10).chunks(), "text/plain")
    listed = s3_server.client().list_objects_v2(Bucket=s3_server.bucket, Prefix="tenants/")
    assert [item["Key"] for item in listed["Contents"]] == ["tenants/media/x/y/z/f/1"]
    await storage.delete("x/y/z/f/1")


async def test_presign_off_hands_out_no_url(s3_server: MotoS3) -> None:
    storage = storage_from_url(f"s3://{s3_server.bucket}?presign=off", s3_server.endpoint_url)
    await storage.put("x/y/z/f/2", Source(10).chunks(), "text/plain")
    url = await storage.presigned_url("x/y/z/f/2", filename="a", content_type="a/b", expires=9)
    assert url is None  # the API streams it: the bucket is not reachable from browsers
    assert await storage.size("x/y/z/f/2") == 10


async def test_s3_down_is_a_clear_storage_error() -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    storage = S3Storage("plinth-media", endpoint_url=endpoint)
    started = time.monotonic()
    attempts = [
        storage.put("a/b/c/d/e", Source(10).chunks(), "text/plain"),
        read_back(Backend("s3", storage, list, str), "a/b/c/d/e"),
        storage.delete("a/b/c/d/e"),
        storage.exists("a/b/c/d/e"),
        storage.size("a/b/c/d/e"),
        storage.check(),
    ]
    for attempt in attempts:
        with pytest.raises(StorageError, match="S3 unreachable") as failed:
            await attempt
        assert endpoint in str(failed.value) and "plinth-media" in str(failed.value)
    assert time.monotonic() - started < 30  # a few retries, not a hang


async def test_a_missing_bucket_is_named(s3_server: MotoS3) -> None:
    storage = S3Storage("no-such-bucket", endpoint_url=s3_server.endpoint_url)
    for attempt in (
        storage.put("a/b/c/d/e", Source(10).chunks(), "text/plain"),
        storage.put("a/b/c/d/e", Source(PART + 1).chunks(), "text/plain"),
        read_back(Backend("s3", storage, list, str), "a/b/c/d/e"),
        storage.delete("a/b/c/d/e"),
        storage.check(),
    ):
        with pytest.raises(StorageError, match="S3 bucket 'no-such-bucket' does not exist"):
            await attempt
    await S3Storage(s3_server.bucket, endpoint_url=s3_server.endpoint_url).check()


async def test_refused_credentials_say_access_denied() -> None:
    with moto_s3("guarded", authenticate=True) as server:
        storage = S3Storage("guarded", endpoint_url=server.endpoint_url)
        for attempt in (
            storage.put("a/b/c/d/e", Source(10).chunks(), "text/plain"),
            storage.size("a/b/c/d/e"),
            storage.check(),
        ):
            with pytest.raises(StorageError, match="S3 access denied to s3://guarded/") as denied:
                await attempt
            assert "AWS_ACCESS_KEY_ID" in str(denied.value)


async def test_no_credentials_at_all_says_which_variables(s3_server: MotoS3) -> None:
    nothing = {name: None for name in CREDENTIALS if name.startswith("AWS_")} | {
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
        "AWS_CONFIG_FILE": "/nonexistent",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": None,
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": None,
        "AWS_PROFILE": None,
    }
    with environment(nothing):
        storage = S3Storage(s3_server.bucket, endpoint_url=s3_server.endpoint_url)
        with pytest.raises(StorageError, match=r"no usable AWS credentials.*AWS_ACCESS_KEY_ID"):
            await storage.put("a/b/c/d/e", Source(10).chunks(), "text/plain")
        with pytest.raises(StorageError, match="no usable AWS credentials"):
            await storage.presigned_url("a/b/c/d/e", filename="f", content_type="a/b", expires=9)
