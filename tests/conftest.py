"""Shared fixtures: real databases (a SQLite file, a fresh PostgreSQL database), `plinth`
subprocesses, and a running `plinth serve` with two organizations.

Suites marked postgres/redis/browser are required when PLINTH_REQUIRE_SUITES=1 (.ci/run):
a skip there is a failure."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.parallel import (  # noqa: F401 - the hooks, and free_port for the tests
    free_port,
    pytest_cmdline_main,
    pytest_collection_modifyitems,
    pytest_runtest_protocol,
)

REPO = Path(__file__).resolve().parent.parent
DEFINITIONS = REPO / "definitions"
PG_ADMIN_DSN = os.environ.get("PLINTH_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("PLINTH_TEST_REDIS", "redis://127.0.0.1:6379/0")
REQUIRED_MARKERS = ("postgres", "redis", "browser")
PASSWORD = "correct horse battery staple"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under PLINTH_REQUIRE_SUITES=1 a skipped test of a required suite is a failure."""
    outcome = yield
    report = outcome.get_result()
    if (
        report.skipped
        and os.environ.get("PLINTH_REQUIRE_SUITES") == "1"
        and any(item.get_closest_marker(m) for m in REQUIRED_MARKERS)
    ):
        report.outcome = "failed"
        report.longrepr = f"required suite skipped: {report.longrepr}"


# -- databases -------------------------------------------------------------------------------


def pg_admin(sql: str) -> None:
    """Run one statement on the PostgreSQL maintenance database."""
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards."""
    name = f"plinth_test_{uuid.uuid4().hex[:12]}"
    try:
        pg_admin(f'CREATE DATABASE "{name}"')
    except Exception as error:  # any failure to connect means "not here"
        pytest.skip(f"PostgreSQL is not reachable at {PG_ADMIN_DSN}: {error}")
    base = PG_ADMIN_DSN.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'plinth.sqlite3'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
    except redis.RedisError as error:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: {error}")
    return REDIS_URL


# -- the plinth command ----------------------------------------------------------------------


def plinth_env(database_url: str, workdir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLINTH_")}
    env |= {
        "PLINTH_DATABASE_URL": database_url,
        "PLINTH_SECRET_KEY": "test-secret-key-that-is-long-enough-for-hs256",
        "PLINTH_DEFINITIONS": str(DEFINITIONS),
        "PLINTH_MIGRATIONS": str(workdir / "migrations"),
        "PLINTH_SECURE_COOKIES": "false",  # the tests talk plain HTTP to 127.0.0.1
        "PLINTH_TRUSTED_PROXIES": "127.0.0.1",  # tests send X-Forwarded-For as a local proxy
        # 4 + 4 connections a process at most: four xdist workers, each with a server or two
        # and their workers, stay inside PostgreSQL's default max_connections (100)
        "PLINTH_DB_POOL_SIZE": "4",
        **extra,
    }
    return env


def plinth(
    *args: str, env: dict[str, str], cwd: Path, input: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "runtime.cli", *args],
        env=env,
        cwd=cwd,
        input=input,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"plinth {' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
        )
    return result


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not come up in {timeout}s")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# -- signing in over HTTP ----------------------------------------------------------------------


def access_token(url: str, email: str, org: str | None = None) -> str:
    """The access token POST /auth/token gives `email` (with PASSWORD), in `org` if named."""
    headers = {"X-Organization": org} if org else {}
    response = httpx.post(
        f"{url}/auth/token", json={"email": email, "password": PASSWORD}, headers=headers
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def bearer_client(url: str, token: str, timeout: float = 30) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout)


def token_client(
    url: str, email: str, tokens: dict[str, str] | None = None, timeout: float = 30
) -> httpx.Client:
    """A client of the site at `url` signed in as `email` by a token login. With `tokens`
    (email → token), each email logs in once; without, every call logs in afresh."""
    if tokens is None:
        return bearer_client(url, access_token(url, email), timeout)
    if email not in tokens:
        tokens[email] = access_token(url, email)
    return bearer_client(url, tokens[email], timeout)


def post_ticket(client: httpx.Client, **values: Any) -> dict[str, Any]:
    """A ticket created by POST /api/tickets (subject "help" unless `values` say otherwise)."""
    response = client.post("/api/tickets", json={"subject": "help", **values})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


# -- a running site with two tenants ---------------------------------------------------------


@dataclass
class Site:
    """A running `plinth serve`, and two fresh organizations on it: `a` is the owner of one,
    `b` of the other (new ones per test, so tests never see each other's rows)."""

    url: str
    env: dict[str, str]
    workdir: Path
    a: str = "a@acme.test"
    b: str = "b@globex.test"
    orgs: dict[str, str] = field(default_factory=dict)  # email → organization slug
    tokens: dict[str, str] = field(default_factory=dict)

    def token(self, email: str, org: str | None = None) -> str:
        return access_token(self.url, email, org)

    def client(self, email: str) -> httpx.Client:
        # logs in on every call (setdefault evaluates its argument), keeps the first token
        return bearer_client(self.url, self.tokens.setdefault(email, self.token(email)))

    def plinth(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return plinth(*args, env=self.env, cwd=self.workdir, input=input)


def add_tenants(database_url: str, site: Site) -> Site:
    """Two fresh organizations with an owner each, written straight to the database."""
    from runtime.database import engine_from_url
    from runtime.definitions import load_project
    from runtime.identity import accounts
    from runtime.schema import build_registry

    suffix = uuid.uuid4().hex[:8]
    site.a, site.b = f"a-{suffix}@acme.test", f"b-{suffix}@globex.test"
    site.orgs = {site.a: f"acme-{suffix}", site.b: f"globex-{suffix}"}

    async def create() -> None:
        registry = build_registry(load_project(DEFINITIONS), engine_from_url(database_url))
        for email, slug in site.orgs.items():
            await accounts.create_organization(registry, slug, slug.title())
            await accounts.create_user(registry, email, PASSWORD)
            await accounts.grant_role(registry, email, slug, "owner")

    asyncio.run(create())
    return site


def prepare_site(database_url: str, workdir: Path, **extra_env: str) -> dict[str, str]:
    """The environment of a migrated database, for `plinth` subprocesses."""
    env = plinth_env(database_url, workdir, **extra_env)
    plinth("migrate", env=env, cwd=workdir)
    return env


def start_server(
    env: dict[str, str], workdir: Path, timeout: float = 90
) -> tuple[str, subprocess.Popen]:
    port = free_port()
    log = open(workdir / f"serve-{port}.log", "w")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        [sys.executable, "-m", "runtime.cli", "serve", "--port", str(port)],
        env=env,
        cwd=workdir,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/admin/", process, timeout)
    except BaseException:  # a server that did not come up in time must not outlive the test
        stop(process)
        raise
    return url, process


def module_database(kind: str, workdir: Path) -> Iterator[str]:
    """A database URL of `kind` for a module-scoped fixture (iterate it: it cleans up)."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'plinth.sqlite3'}"
        return
    name = f"plinth_test_{uuid.uuid4().hex[:12]}"
    try:
        pg_admin(f'CREATE DATABASE "{name}"')
    except Exception as error:  # any failure to connect means "not here"
        pytest.skip(f"PostgreSQL is not reachable at {PG_ADMIN_DSN}: {error}")
    yield f"{PG_ADMIN_DSN.rsplit('/', 1)[0]}/{name}"
    pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """One migrated database and `plinth serve` per test module and database kind."""
    yield from serve_site(request.param, tmp_path_factory.mktemp("site"))


def serve_site(kind: str, workdir: Path) -> Iterator[Site]:
    """A migrated database of `kind` and `plinth serve` on it (iterate it: it cleans up)."""
    for database_url in module_database(kind, workdir):
        env = prepare_site(database_url, workdir)
        url, process = start_server(env, workdir)
        try:
            yield Site(url=url, env=env, workdir=workdir)
        finally:
            stop(process)


def with_tenants(server: Site) -> Site:
    """The module's server with two fresh organizations and their users (see add_tenants)."""
    fresh = Site(url=server.url, env=server.env, workdir=server.workdir)
    return add_tenants(server.env["PLINTH_DATABASE_URL"], fresh)


@pytest.fixture
def site(server: Site) -> Site:
    return with_tenants(server)
