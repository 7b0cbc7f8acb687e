"""Both backends keep the one promise of `Storage`: what goes in comes out byte for byte, in
bounded memory, and a failed upload leaves nothing behind (no file, no object, no parts)."""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from runtime.storage import CHUNK, LocalStorage, NotStored, StorageError, content_disposition
from tests.storage.conftest import Backend

MiB = 1024 * 1024


class Source:
    """`size` pseudo-random bytes in uneven chunks (so no chunk lines up with a part), and
    their digest, without ever holding them all."""

    def __init__(self, size: int, seed: int = 7) -> None:
        self.size = size
        self.seed = seed
        self.digest = hashlib.sha256()

    async def chunks(self) -> AsyncIterator[bytes]:
        rng = random.Random(self.seed)
        left = self.size
        while left:
            chunk = rng.randbytes(min(left, rng.randint(1, 3 * CHUNK)))
            self.digest.update(chunk)
            left -= len(chunk)
            yield chunk


async def read_back(backend: Backend, key: str) -> tuple[int, str, int]:
    """(bytes, sha256, largest chunk) of what `open` streams."""
    digest, total, largest = hashlib.sha256(), 0, 0
    async for chunk in backend.storage.open(key):
        digest.update(chunk)
        total += len(chunk)
        largest = max(largest, len(chunk))
    return total, digest.hexdigest(), largest


async def failing(after: int) -> AsyncIterator[bytes]:
    """`after` bytes, then the client's connection breaks."""
    async for chunk in Source(after).chunks():
        yield chunk
    raise ConnectionResetError("client went away")


def vm_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/self/status")


@pytest.mark.parametrize("size", [0, 1, 5 * MiB], ids=["0B", "1B", "5MiB"])
async def test_put_then_open_is_byte_identical(backend: Backend, size: int) -> None:
    source = Source(size)
    key = f"shared/doc/{size}/file/abc"
    assert await backend.storage.put(key, source.chunks(), "application/pdf") == size
    total, digest, largest = await read_back(backend, key)
    assert (total, digest) == (size, source.digest.hexdigest())
    assert largest <= CHUNK
    assert await backend.storage.size(key) == size
    assert await backend.storage.exists(key)
    assert backend.leftovers() == [backend.stored(key)]


async def test_50_mib_streams_through_in_bounded_memory(backend: Backend) -> None:
    """The test process (the client alone: moto runs in a subprocess) never grows by 20 MiB
    while 50 MiB go in and come out."""
    await backend.storage.put("warm/up/a/b/c", Source(CHUNK).chunks(), "text/plain")
    await read_back(backend, "warm/up/a/b/c")  # boto3 loads its models on first use
    source = Source(50 * MiB, seed=50)
    before = vm_kib("VmRSS")
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # VmHWM (the peak) restarts from now
    assert await backend.storage.put("big/file/a/b/c", source.chunks(), "video/mp4") == 50 * MiB
    total, digest, _ = await read_back(backend, "big/file/a/b/c")
    peak = vm_kib("VmHWM")
    assert (total, digest) == (50 * MiB, source.digest.hexdigest())
    assert (peak - before) / 1024 < 20, f"RSS grew {(peak - before) / 1024:.1f} MiB"


@pytest.mark.parametrize("after", [100_000, 12 * MiB], ids=["before-a-part", "mid-multipart"])
async def test_a_stream_that_breaks_leaves_nothing(backend: Backend, after: int) -> None:
    key = "t/doc/1/file/broken"
    with pytest.raises(ConnectionResetError):  # the caller sees its own error, not ours
        await backend.storage.put(key, failing(after), "application/octet-stream")
    assert not await backend.storage.exists(key)
    assert backend.leftovers() == []


async def test_a_cancelled_upload_leaves_nothing(backend: Backend) -> None:
    sent = asyncio.Event()

    async def stalls() -> AsyncIterator[bytes]:
        async for chunk in Source(10 * MiB).chunks():
            yield chunk
        sent.set()
        await asyncio.Event().wait()  # the client stops sending; the request is cancelled
        yield b""

    upload = asyncio.create_task(backend.storage.put("t/doc/1/file/c", stalls(), "text/plain"))
    await sent.wait()
    upload.cancel()
    with pytest.raises(asyncio.CancelledError):
        await upload
    assert backend.leftovers() == []


async def test_delete_is_idempotent_and_missing_keys_are_not_stored(backend: Backend) -> None:
    storage = backend.storage
    await storage.put("a/b/c/d/e", Source(10).chunks(), "text/plain")
    await storage.delete("a/b/c/d/e")
    await storage.delete("a/b/c/d/e")
    await storage.delete("never/was/here")
    assert not await storage.exists("a/b/c/d/e")
    with pytest.raises(NotStored):
        await storage.size("a/b/c/d/e")
    with pytest.raises(NotStored):
        await read_back(backend, "a/b/c/d/e")
    assert backend.leftovers() == []


BAD_KEYS = [
    "../x",
    "a/../../x",
    "/etc/passwd",
    "a//b",
    "",
    "a/",
    "a/./b",
    ".hidden",
    "a\\b",
    "a\nb",
]


@pytest.mark.parametrize("key", BAD_KEYS)
async def test_keys_that_could_escape_are_refused(backend: Backend, key: str) -> None:
    storage = backend.storage
    attempts = [
        storage.put(key, Source(1).chunks(), "text/plain"),
        read_back(backend, key),
        storage.delete(key),
        storage.exists(key),
        storage.size(key),
        storage.presigned_url(key, filename="x", content_type="text/plain", expires=60),
    ]
    for attempt in attempts:
        with pytest.raises(StorageError, match="not a storage key") as refused:
            await attempt
        assert not isinstance(refused.value, NotStored)
    assert backend.leftovers() == []


async def test_presigned_url_serves_the_file_as_an_attachment(backend: Backend) -> None:
    storage = backend.storage
    await storage.put("t/doc/1/file/p", Source(3000).chunks(), "application/pdf")
    name = 'Rapport "final"\r\n été.pdf'
    url = await storage.presigned_url(
        "t/doc/1/file/p", filename=name, content_type="application/pdf", expires=60
    )
    if backend.kind == "local":
        assert url is None  # the API streams local files itself
        return
    assert url is not None
    response = httpx.get(url)
    assert response.status_code == 200
    source = Source(3000)
    async for _ in source.chunks():
        pass
    assert hashlib.sha256(response.content).hexdigest() == source.digest.hexdigest()
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == content_disposition(name)
    assert "\r" not in response.headers["content-disposition"]
    preview = await storage.presigned_url(  # the admin's image preview
        "t/doc/1/file/p", filename=name, content_type="image/png", expires=60, inline=True
    )
    assert preview is not None
    shown = httpx.get(preview).headers["content-disposition"]
    assert shown == content_disposition(name, inline=True) and shown.startswith("inline;")


async def test_check_passes_on_a_usable_storage(backend: Backend) -> None:
    await backend.storage.check()  # type: ignore[attr-defined]  # both backends, not Storage


async def test_check_names_a_folder_that_cannot_be(tmp_path: Path) -> None:
    (tmp_path / "media").write_text("a file where the folder should be")
    with pytest.raises(StorageError, match=r"storage folder .*media.* unusable"):
        await LocalStorage(tmp_path / "media").check()
    await LocalStorage(tmp_path / "new" / "media").check()
    assert (tmp_path / "new" / "media").is_dir()
