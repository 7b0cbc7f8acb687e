"""Login throttling: the 11th wrong password in a minute answers 429 (Retry-After), per
account and per client IP, on /auth/token, /auth/login and the admin's login alike, and shared
by every server process when Redis is configured.

Client addresses come from X-Forwarded-For, which the test servers trust from 127.0.0.1
(PLINTH_TRUSTED_PROXIES in tests/conftest.py), as from a local reverse proxy."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import (
    PASSWORD,
    Site,
    add_tenants,
    module_database,
    prepare_site,
    start_server,
    stop,
    with_tenants,
)
from tests.identity.conftest import serve_with_platform

WRONG = "not the password"


@pytest.fixture(scope="module")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The throttle does not touch the database: one SQLite server is enough."""
    yield from serve_with_platform("sqlite", tmp_path_factory.mktemp("throttle"))


@pytest.fixture
def site(sqlite_server: Site) -> Site:
    return with_tenants(sqlite_server)


def _addresses() -> Iterator[str]:
    """Client addresses (benchmarking range 198.18.0.0/15), random so that the Redis counters
    of an earlier run cannot interfere."""
    while True:
        yield f"198.{random.choice((18, 19))}.{random.randrange(256)}.{random.randrange(256)}"


def _attempt(base: str, path: str, email: str, password: str, ip: str) -> httpx.Response:
    return httpx.post(
        f"{base}{path}",
        json={"email": email, "password": password},
        headers={"X-Forwarded-For": ip},
    )


def _admin_attempt(base: str, email: str, password: str, ip: str) -> httpx.Response:
    with httpx.Client(base_url=f"{base}/admin") as client:
        client.get("/")  # the csrftoken cookie
        return client.post(
            "/public/login/",
            json={"username": email, "password": password},
            headers={"X-CSRFToken": client.cookies["csrftoken"], "X-Forwarded-For": ip},
        )


def _assert_throttled(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert 1 <= int(response.headers["retry-after"]) <= 60
    assert "too many failed logins" in response.json()["detail"]


def test_the_11th_wrong_password_for_an_account_answers_429(site: Site) -> None:
    ips = _addresses()
    for _ in range(10):  # each from another address: only the account's counter trips
        assert _attempt(site.url, "/auth/token", site.a, WRONG, next(ips)).status_code == 401
    _assert_throttled(_attempt(site.url, "/auth/token", site.a, WRONG, next(ips)))
    _assert_throttled(_attempt(site.url, "/auth/token", site.a, PASSWORD, next(ips)))
    _assert_throttled(_attempt(site.url, "/auth/login", site.a, PASSWORD, next(ips)))
    _assert_throttled(_admin_attempt(site.url, site.a, PASSWORD, next(ips)))
    assert _attempt(site.url, "/auth/token", site.b, PASSWORD, next(ips)).status_code == 200


def test_the_11th_wrong_password_from_an_address_answers_429(site: Site) -> None:
    ips = _addresses()
    ip = next(ips)
    for n in range(10):  # ten accounts (unknown ones count too): only the address trips
        response = _attempt(site.url, "/auth/login", f"nobody-{n}-{site.a}", WRONG, ip)
        assert response.status_code == 401
    _assert_throttled(_attempt(site.url, "/auth/token", site.b, PASSWORD, ip))
    assert _attempt(site.url, "/auth/token", site.b, PASSWORD, next(ips)).status_code == 200


def test_the_admin_login_shares_the_counters(site: Site) -> None:
    ips = _addresses()
    for _ in range(5):
        assert _admin_attempt(site.url, site.a, WRONG, next(ips)).status_code == 401
        assert _attempt(site.url, "/auth/login", site.a, WRONG, next(ips)).status_code == 401
    _assert_throttled(_admin_attempt(site.url, site.a, WRONG, next(ips)))
    _assert_throttled(_attempt(site.url, "/auth/token", site.a, PASSWORD, next(ips)))
    assert _admin_attempt(site.url, site.b, PASSWORD, next(ips)).status_code == 200


def test_successful_logins_are_not_counted(site: Site) -> None:
    ip = next(_addresses())
    for _ in range(12):
        assert _attempt(site.url, "/auth/token", site.a, PASSWORD, ip).status_code == 200


@pytest.fixture
def two_servers(redis_url: str, tmp_path: Path) -> Iterator[tuple[Site, Site]]:
    """Two `plinth serve` processes on one database, sharing Redis."""
    workdir = tmp_path
    for database_url in module_database("sqlite", workdir):
        env = prepare_site(database_url, workdir, PLINTH_REDIS_URL=redis_url)
        started = [start_server(env, workdir) for _ in range(2)]
        try:
            sites = [Site(url=url, env=env, workdir=workdir) for url, _ in started]
            yield sites[0], sites[1]
        finally:
            for _, process in started:
                stop(process)


@pytest.mark.redis
def test_with_redis_every_process_shares_the_counters(two_servers: tuple[Site, Site]) -> None:
    first, second = two_servers
    site = add_tenants(first.env["PLINTH_DATABASE_URL"], first)
    ips = _addresses()
    for _ in range(5):
        assert _attempt(first.url, "/auth/token", site.a, WRONG, next(ips)).status_code == 401
        assert _attempt(second.url, "/auth/token", site.a, WRONG, next(ips)).status_code == 401
    _assert_throttled(_attempt(first.url, "/auth/token", site.a, PASSWORD, next(ips)))
    _assert_throttled(_attempt(second.url, "/auth/login", site.a, PASSWORD, next(ips)))
    assert _attempt(second.url, "/auth/token", site.b, PASSWORD, next(ips)).status_code == 200
