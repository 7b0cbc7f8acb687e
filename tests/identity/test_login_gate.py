"""The login gate (runtime/identity/throttle.py) on every route that checks a password or a
second factor, at its path and at the variants Starlette and piccolo-admin route there
(suffixes, a query, an encoded slash), and at the near misses they do not (case, doubled or
missing slashes): 40 wrong guesses at once reach the hash at most ten times and the rest
answer 429; a locked account is refused everywhere, with the right password too.

The app runs in this process (on SQLite and PostgreSQL), so that the test can read the count
of password checks the server ran (`POOL.checks`, runtime/identity/passwords.py)."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pyotp
import pytest
from starlette.applications import Starlette

from runtime.app import build_app
from runtime.database import close_engine, engine_from_url, open_engine
from runtime.definitions import load_project
from runtime.identity import totp
from runtime.identity.passwords import POOL
from runtime.identity.throttle import RedisWindows
from runtime.schema import build_registry
from runtime.schema.registry import Registry
from runtime.settings import read_settings
from tests.conftest import DEFINITIONS, PASSWORD, Site, add_tenants, module_database, prepare_site

T = TypeVar("T")
WRONG = "not the password"
NEW_PASSWORD = "a new and longer passphrase"


@dataclass
class Gate:
    app: Starlette
    registry: Registry
    site: Site  # for add_tenants: the database, no server


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def gate(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gate]:
    workdir: Path = tmp_path_factory.mktemp("gate")
    for database_url in module_database(request.param, workdir):
        env = prepare_site(database_url, workdir)
        registry = build_registry(load_project(DEFINITIONS), engine_from_url(database_url))
        app = build_app(read_settings(env), registry, run_worker=False)
        yield Gate(app, registry, Site(url="", env=env, workdir=workdir))


@pytest.fixture
def users(gate: Gate) -> tuple[str, str]:
    """Two fresh accounts (their windows are this test's alone)."""
    site = add_tenants(gate.site.env["PLINTH_DATABASE_URL"], Site(url="", env={}, workdir=Path()))
    return site.a, site.b


def _ip() -> str:
    n = uuid.uuid4().int
    return f"198.{18 + n % 2}.{n // 2 % 256}.{n // 512 % 256}"


def run(gate: Gate, work: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        await open_engine(gate.registry.engine)
        try:
            return await work()
        finally:
            await close_engine(gate.registry.engine)

    return asyncio.run(main())


def client(gate: Gate, ip: str | None = None) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=gate.app, client=(ip or _ip(), 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=60)


async def admin_session(gate: Gate, email: str, ip: str | None = None) -> httpx.AsyncClient:
    """Signed in to the admin, with the CSRF header its pages want."""
    signed_in = client(gate, ip)
    response = await admin_login(signed_in, "/admin/public/login/", email, PASSWORD)
    assert response.status_code == 200, response.text
    signed_in.headers["X-CSRFToken"] = signed_in.cookies["csrftoken"]
    return signed_in


async def admin_login(
    c: httpx.AsyncClient, path: str, email: str, password: str, **extra: str
) -> httpx.Response:
    if "csrftoken" not in c.cookies:
        await c.get("/admin/")
    body = {"username": email, "password": password, **extra}
    return await c.post(path, json=body, headers={"X-CSRFToken": c.cookies["csrftoken"]})


async def api_login(
    c: httpx.AsyncClient, path: str, email: str, password: str, **extra: str
) -> httpx.Response:
    return await c.post(path, json={"email": email, "password": password, **extra})


Login = Callable[..., Awaitable[httpx.Response]]
ROUTED: list[tuple[Login, str]] = [
    (api_login, "/auth/token"),
    (api_login, "/auth/token?next=1"),
    (api_login, "/auth/login"),
    (admin_login, "/admin/public/login/"),
    (admin_login, "/admin/public/login/x"),
    (admin_login, "/admin/public/login/x/y/"),
    (admin_login, "/admin/public/login%2Fx"),
    (admin_login, "/admin/public/login/?next=/admin/"),
]
NOT_ROUTED: list[tuple[Login, str]] = [
    (api_login, "/auth/token/"),  # Starlette's redirect: no check
    (api_login, "/AUTH/TOKEN"),
    (api_login, "/auth/login/"),
    (api_login, "//auth/login"),
    (admin_login, "/admin/public/login"),
    (admin_login, "/admin/PUBLIC/LOGIN/"),
    (admin_login, "/admin/public/LOGIN/x"),
    (admin_login, "/admin/public//login/"),
    (admin_login, "/admin//public/login/"),
]


def _name(case: tuple[Login, str]) -> str:
    return case[1]


def _refused(response: httpx.Response, problem: bool = True) -> bool:
    """A 429 with Retry-After (and problem+json where the route answers it)."""
    if response.status_code != 429 or not 1 <= int(response.headers["retry-after"]) <= 60:
        return False
    return not problem or response.headers["content-type"] == "application/problem+json"


async def _forty(attempt: Callable[[], Awaitable[httpx.Response]]) -> tuple[Counter[int], int]:
    """40 attempts at once: their statuses and how many password checks they ran."""
    before = POOL.checks
    responses = await asyncio.gather(*(attempt() for _ in range(40)))
    assert all(
        _refused(r, r.request.url.path.startswith(("/auth", "/admin/public")))
        for r in responses
        if r.status_code == 429
    )
    return Counter(r.status_code for r in responses), POOL.checks - before


@pytest.mark.parametrize("case", ROUTED, ids=_name)
def test_forty_wrong_passwords_at_once_reach_the_hash_ten_times(
    gate: Gate, users: tuple[str, str], case: tuple[Login, str]
) -> None:
    login, path = case

    async def work() -> None:
        async with client(gate) as c:
            statuses, checked = await _forty(lambda: login(c, path, users[0], WRONG))
            assert checked == 10 and statuses == {401: 10, 429: 30}, (checked, statuses)
            assert _refused(await login(c, path, users[0], PASSWORD))  # locked: the right one too
        async with client(gate) as other:  # the account's window, from another address
            assert _refused(await login(other, path, users[0], PASSWORD))
            assert (await login(other, path, users[1], PASSWORD)).status_code == 200

    run(gate, work)


@pytest.mark.parametrize("case", NOT_ROUTED, ids=_name)
def test_near_misses_check_no_password(
    gate: Gate, users: tuple[str, str], case: tuple[Login, str]
) -> None:
    login, path = case

    async def work() -> None:
        async with client(gate) as c:
            statuses, checked = await _forty(lambda: login(c, path, users[0], WRONG))
            assert checked == 0 and not statuses.keys() & {200, 401}, (checked, statuses)
            answer = await login(c, path, users[0], PASSWORD)
            assert answer.status_code != 200 and "id" not in answer.cookies

    run(gate, work)


def test_the_account_window_ignores_case_and_spaces(gate: Gate, users: tuple[str, str]) -> None:
    """The login matches the email case-insensitively and trimmed: so does its window."""
    email = users[0]
    spellings = [email.upper(), f" {email}", f"{email}\t", email.title()]

    async def work() -> None:
        for n in range(10):  # each from another address: only the account's window fills
            async with client(gate) as c:
                answer = await ROUTED[n % len(ROUTED)][0](
                    c, ROUTED[n % len(ROUTED)][1], spellings[n % len(spellings)], WRONG
                )
                assert answer.status_code == 401, answer.text
        async with client(gate) as c:
            assert _refused(await api_login(c, "/auth/token", email, PASSWORD))

    run(gate, work)


def test_a_locked_account_is_refused_on_every_path(gate: Gate, users: tuple[str, str]) -> None:
    email = users[0]

    async def work() -> None:
        pages = await admin_session(gate, email)  # signed in before the lock
        for _ in range(10):
            async with client(gate) as c:
                assert (await api_login(c, "/auth/token", email, WRONG)).status_code == 401
        for login, path in ROUTED + NOT_ROUTED:
            async with client(gate) as c:
                answer = await login(c, path, email, PASSWORD)
                assert answer.status_code != 200 and "id" not in answer.cookies, path
                if (login, path) in ROUTED:
                    assert _refused(answer), (path, answer.status_code)
        change = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
        changed = await pages.post(
            "/admin/api/change-password/", json=change | {"confirm_new_password": NEW_PASSWORD}
        )
        assert _refused(changed, problem=False) and "try again in" in changed.text
        started = await _form(pages, action="start", password=PASSWORD)
        assert _refused(started, problem=False) and "try again in" in started.text
        await pages.aclose()

    run(gate, work)


async def _form(c: httpx.AsyncClient, **fields: str) -> httpx.Response:
    """A post of the admin's MFA Setup form, with the CSRF field it carries."""
    return await c.post(
        "/admin/api/mfa-setup/", data={"csrftoken": c.cookies["csrftoken"], **fields}
    )


def test_the_account_pages_pass_the_gate(gate: Gate, users: tuple[str, str]) -> None:
    """Change password and MFA Setup check passwords and codes: 40 wrong ones at once are
    ten checks and thirty 429s, then even the right one is refused."""
    change = {"new_password": NEW_PASSWORD, "confirm_new_password": NEW_PASSWORD}

    async def work() -> None:
        for email, attempt in (
            (
                users[0],
                lambda c, pw: c.post(
                    "/admin/api/change-password/", json=change | {"current_password": pw}
                ),
            ),
            (users[1], lambda c, pw: _form(c, action="start", password=pw)),
        ):
            pages = await admin_session(gate, email)
            statuses, checked = await _forty(lambda a=attempt, p=pages: a(p, WRONG))
            assert checked == 10 and statuses == {422: 10, 429: 30}, (checked, statuses)
            assert _refused(await attempt(pages, PASSWORD), problem=False)
            await pages.aclose()

    run(gate, work)


def test_wrong_codes_at_login_pass_the_gate(gate: Gate, users: tuple[str, str]) -> None:
    """Wrong TOTP codes count like wrong passwords; a right password alone ("MFA code
    required") does not."""

    async def work() -> None:
        cases = ((api_login, "/auth/token"), (admin_login, "/admin/public/login/x"))
        for email, (login, path) in zip(users, cases, strict=True):
            user = gate.registry.user
            row = await user.select().where(user.email == email).first()
            enrolment = await totp.start_enrolment(gate.registry, row["id"], issuer="test")
            code = pyotp.TOTP(enrolment.secret).now()
            assert await totp.confirm_enrolment(
                gate.registry, row["id"], enrolment.enrolment_id, code
            )
            async with client(gate) as c:
                for _ in range(12):  # the password is right: never counted
                    assert (await login(c, path, email, PASSWORD)).status_code == 401
                statuses, checked = await _forty(
                    lambda c=c, login=login, path=path, email=email: login(
                        c, path, email, PASSWORD, mfa_code="000000"
                    )
                )
            assert checked == 10 and statuses == {401: 10, 429: 30}, (path, checked, statuses)

    run(gate, work)


def test_wrong_codes_confirming_an_enrolment_pass_the_gate(
    gate: Gate, users: tuple[str, str]
) -> None:
    async def work() -> None:
        pages = await admin_session(gate, users[0])
        started = await _form(pages, action="start", password=PASSWORD)
        found = re.search(r'name="enrolment_id" value="([^"]+)"', started.text)
        assert found is not None, started.text
        statuses, _ = await _forty(
            lambda: _form(pages, action="confirm", enrolment_id=found.group(1), code="000000")
        )
        assert statuses == {422: 10, 429: 30}, statuses
        await pages.aclose()

    run(gate, work)


def test_successful_logins_at_every_path_are_never_counted(
    gate: Gate, users: tuple[str, str]
) -> None:
    async def work() -> None:
        async with client(gate) as c:
            for n in range(24):
                login, path = ROUTED[n % len(ROUTED)]
                c.cookies.clear()
                answer = await login(c, path, users[0], PASSWORD)
                assert answer.status_code == 200, (path, answer.text)

    run(gate, work)


def test_a_full_hashing_pool_answers_503_and_counts_nothing(
    gate: Gate, users: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def work() -> None:
        async with client(gate) as c:
            monkeypatch.setattr(POOL, "room", 0)  # every place taken
            for login, path in ROUTED * 2:
                busy = await login(c, path, users[0], WRONG)
                assert busy.status_code == 503 and busy.headers["retry-after"] == "1", path
                assert busy.headers["content-type"] == "application/problem+json"
            monkeypatch.undo()
            assert (await api_login(c, "/auth/token", users[0], PASSWORD)).status_code == 200

    run(gate, work)


def test_piccolo_admins_password_check_refuses_outside_the_gate(
    gate: Gate, users: tuple[str, str]
) -> None:
    """A route that reached PlinthUserBase.login around the gate would learn nothing."""
    user_table: Any = gate.registry.user

    async def work() -> None:
        assert await user_table.login(users[0], PASSWORD) is None
        throttle = gate.app.state.plinth.throttle
        async with throttle.attempt(users[0], _ip()) as attempt:
            assert await user_table.login(users[0], PASSWORD) is not None
            attempt.succeeded()

    run(gate, work)


@pytest.mark.redis
def test_redis_windows_take_every_key_at_once_or_none(redis_url: str) -> None:
    """The windows every server process shares: one atomic step for both keys."""
    prefix = f"plinth:test:{uuid.uuid4().hex}"
    keys, fresh = [f"{prefix}:account", f"{prefix}:ip"], f"{prefix}:other-ip"
    windows = RedisWindows(redis_url)

    async def work() -> None:
        try:
            waits = await asyncio.gather(*(windows.take(keys, f"m{n}") for n in range(40)))
            taken = [n for n, wait in enumerate(waits) if wait == 0]
            assert len(taken) == 10 and all(0 < w <= 60 for w in waits if w), waits
            assert await windows.take([keys[0], fresh], "x") > 0  # the account is full ...
            assert await windows.redis.zcard(fresh) == 0  # ... so the address was not taken
            await windows.give_back(keys, f"m{taken[0]}")  # a success gives its place back
            assert await windows.take(keys, "again") == 0
            assert await windows.take(keys, "more") > 0
        finally:
            await windows.redis.delete(*keys, fresh)
            await windows.redis.aclose()

    asyncio.run(work())
