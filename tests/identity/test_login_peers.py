"""Against a `plinth serve` with the default settings: X-Forwarded-For is ignored unless the
peer is a listed proxy (none by default), and a burst of failed logins without credentials
leaves memory bounded (hashing runs on a few fixed threads, runtime/identity/passwords.py).

Distinct clients are distinct loopback addresses (127.0.x.y), not X-Forwarded-For."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from runtime.settings import SettingsError, read_settings
from tests.conftest import (
    Site,
    module_database,
    prepare_site,
    start_server,
    stop,
)


@pytest.fixture(scope="module")
def peers_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Site, int]]:
    """The server and its process id; PLINTH_TRUSTED_PROXIES unset, as by default."""
    workdir = tmp_path_factory.mktemp("peers")
    for database_url in module_database("sqlite", workdir):
        env = prepare_site(database_url, workdir)
        del env["PLINTH_TRUSTED_PROXIES"]
        url, process = start_server(env, workdir)
        try:
            yield Site(url=url, env=env, workdir=workdir), process.pid
        finally:
            stop(process)


def _nobody() -> str:
    return f"nobody-{uuid.uuid4().hex[:12]}@example.test"


def _login(client: httpx.Client | httpx.AsyncClient, headers: dict[str, str] | None = None):
    return client.post(
        "/auth/token", json={"email": _nobody(), "password": "wrong"}, headers=headers or {}
    )


def test_forwarded_for_is_ignored_from_a_peer_not_listed(peers_server: tuple[Site, int]) -> None:
    site, _ = peers_server
    peer = f"127.0.{uuid.uuid4().int % 200 + 20}.{uuid.uuid4().int % 250 + 1}"
    transport = httpx.HTTPTransport(local_address=peer)
    with httpx.Client(base_url=site.url, transport=transport, timeout=30) as client:
        for n in range(10):  # ten "clients" by their header, one by their connection
            assert _login(client, {"X-Forwarded-For": f"198.18.0.{n}"}).status_code == 401
        refused = _login(client, {"X-Forwarded-For": "198.18.0.99"})
        assert refused.status_code == 429, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert 1 <= int(refused.headers["retry-after"]) <= 60
    other = httpx.HTTPTransport(local_address=peer.rsplit(".", 1)[0] + ".251")
    with httpx.Client(base_url=site.url, transport=other, timeout=30) as client:
        assert _login(client).status_code == 401  # another address is not throttled


def test_trusted_proxies_are_addresses_or_networks(tmp_path: Path) -> None:
    env = {"PLINTH_DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}"}
    assert read_settings(env).trusted_proxies == ()
    listed = read_settings({**env, "PLINTH_TRUSTED_PROXIES": " 10.0.0.5, 192.168.0.0/24,::1"})
    assert listed.trusted_proxies == ("10.0.0.5", "192.168.0.0/24", "::1")
    with pytest.raises(SettingsError, match="PLINTH_TRUSTED_PROXIES: 'proxy\\.local'"):
        read_settings({**env, "PLINTH_TRUSTED_PROXIES": "proxy.local"})


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


async def _burst(url: str, count: int) -> list[int]:
    """`count` failed logins at once, each from its own loopback address."""

    async def one(n: int) -> int:
        transport = httpx.AsyncHTTPTransport(local_address=f"127.1.{n // 250}.{n % 250 + 1}")
        async with httpx.AsyncClient(base_url=url, transport=transport, timeout=120) as client:
            return (await _login(client)).status_code

    return await asyncio.gather(*(one(n) for n in range(count)))


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_a_burst_of_failed_logins_leaves_memory_bounded(peers_server: tuple[Site, int]) -> None:
    site, pid = peers_server
    httpx.get(f"{site.url}/admin/", timeout=30)  # warm: no login yet
    start = _rss_mib(pid)
    peak = start
    statuses: list[int] = []

    async def watch() -> None:
        nonlocal peak, statuses
        task = asyncio.create_task(_burst(site.url, 100))
        while not task.done():
            peak = max(peak, _rss_mib(pid))
            await asyncio.sleep(0.02)
        statuses = task.result()

    asyncio.run(watch())
    assert set(statuses) <= {401, 503} and statuses.count(401) >= 10, statuses
    print(f"RSS start {start:.0f} MiB, peak {peak:.0f} MiB", end="")
    assert peak - start < 100, (start, peak)
    deadline = time.monotonic() + 30
    while _rss_mib(pid) - start >= 50 and time.monotonic() < deadline:
        time.sleep(0.5)
    print(f", after {_rss_mib(pid):.0f} MiB")
    assert _rss_mib(pid) - start < 50, (start, _rss_mib(pid))
