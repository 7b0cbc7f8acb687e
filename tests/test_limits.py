"""Bounded input over real HTTP: each limit of runtime/limits.py answers a clear problem+json
4xx before the work it guards, never a 500, and the server answers the next request at once.

The server runs with a 1 MB body limit so the big bodies stay quick to send."""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from runtime.limits import (
    REQUEST_ID_CHARS,
    LimitSettingError,
    ascii_digits,
    fit_request_id,
    read_limits,
)
from tests.conftest import Site, module_database, prepare_site, start_server, stop, with_tenants

BODY_LIMIT = 1_000_000


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def limited(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    workdir = tmp_path_factory.mktemp("limits")
    for database_url in module_database(request.param, workdir):
        env = prepare_site(database_url, workdir, PLINTH_MAX_BODY_BYTES=str(BODY_LIMIT))
        url, process = start_server(env, workdir)
        try:
            yield with_tenants(Site(url=url, env=env, workdir=workdir))
        finally:
            stop(process)


def _refused(response: httpx.Response, status: int, words: str) -> None:
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"] == "application/problem+json"
    assert words in response.json()["detail"], response.json()


def _still_up(site: Site) -> None:
    started = time.monotonic()
    response = httpx.get(f"{site.url}/auth/me", timeout=5)
    assert response.status_code == 401 and time.monotonic() - started < 2


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# -- body size -------------------------------------------------------------------------------


def test_a_body_over_the_limit_is_413_declared_or_streamed(limited: Site) -> None:
    big = json.dumps({"subject": "big", "body": "x" * (3 * BODY_LIMIT)}).encode()
    with limited.client(limited.a) as client:
        declared = client.post("/api/tickets", content=big)
        streamed = client.post(
            "/api/tickets",
            content=(big[i : i + 65536] for i in range(0, len(big), 65536)),
            headers={"Content-Type": "application/json"},
        )
        form = httpx.post(
            f"{limited.url}/admin/public/login/",
            content=(b"username=" + b"u" * 65536 for _ in range(3 * BODY_LIMIT // 65536)),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        listed = client.get("/api/tickets", params={"subject": "big"}).json()
        fits = client.post("/api/tickets", json={"subject": "fits", "body": "x" * 100_000})
    _refused(declared, 413, f"larger than {BODY_LIMIT} bytes")
    _refused(streamed, 413, f"larger than {BODY_LIMIT} bytes")
    _refused(form, 413, f"larger than {BODY_LIMIT} bytes")  # the admin's forms too
    assert listed["data"] == []  # nothing was stored
    assert fits.status_code == 201
    _still_up(limited)


@pytest.mark.parametrize("path", ["/auth/token", "/auth/login", "/admin/public/login"])
def test_a_declared_huge_body_is_refused_before_it_is_read(limited: Site, path: str) -> None:
    """Headers announcing 50 MB and no body at all: the answer comes without waiting for it."""
    host, port = limited.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: 50000000\r\n\r\n".encode()
        )
        answer = b""
        while chunk := sock.recv(65536):  # the server closes the connection after the 413
            answer += chunk
    answer = answer.decode()
    assert answer.startswith("HTTP/1.1 413"), answer
    assert "application/problem+json" in answer and "larger than" in answer
    _still_up(limited)


# -- JSON ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/tickets", "/auth/token", "/auth/login", "/auth/token/refresh", "/auth/logout"]
)
def test_json_nested_too_deep_is_400(limited: Site, path: str) -> None:
    with limited.client(limited.a) as client:
        deep = client.post(path, content=_nested(10_000), headers={"Content-Type": "text/json"})
        shallow = client.post(path, content=_nested(40), headers={"Content-Type": "text/json"})
    _refused(deep, 400, "nested deeper than 32 levels")
    _refused(shallow, 400, "nested deeper than 32 levels")
    _still_up(limited)


def test_a_number_with_too_many_digits_is_400(limited: Site) -> None:
    with limited.client(limited.a) as client:
        huge = client.post(
            "/api/tickets", content='{"subject": "n", "priority": ' + "9" * 5000 + "}"
        )
        real = client.post(
            "/api/tickets", content='{"subject": "n", "priority": 1.' + "5" * 5000 + "}"
        )
    _refused(huge, 400, "a number has 5000 digits, more than 100")
    _refused(real, 400, "more than 100")
    _still_up(limited)


@pytest.mark.alone  # it times the answer
def test_errors_per_payload_are_capped_without_suggestion_work(limited: Site) -> None:
    keys = 60_000
    payload = {"subject": "many"} | {f"k{i}": 1 for i in range(keys)}
    started = time.monotonic()
    with limited.client(limited.a) as client:
        response = client.post("/api/tickets", json=payload)
    elapsed = time.monotonic() - started
    assert response.status_code == 422, response.text[:500]
    errors = response.json()["errors"]
    assert len(errors) == 51 and all(e["code"] == "unknown" for e in errors[:50])
    assert errors[-1] == {
        "field": "*",
        "code": "too_many_errors",
        "message": f"and {keys - 50} more unknown fields",
    }
    assert len(response.content) < 50_000 and elapsed < 3
    with limited.client(limited.a) as client:
        typo = client.post("/api/tickets", json={"subjet": "x"}).json()["errors"]
    assert "did you mean 'subject'" in typo[0]["message"]  # suggestions stay below the cap
    _still_up(limited)


# -- queries ---------------------------------------------------------------------------------


def test_filters_are_bounded_in_depth_nodes_and_in_lists(limited: Site) -> None:
    nots: dict = {"priority": 1}
    for _ in range(20):
        nots = {"not": nots}
    deep_json = '{"not": ' * 200 + '{"priority": 1}' + "}" * 200  # a short URL, far past 32
    wide = {"or": [{"priority": 1}] * 600}
    with limited.client(limited.a) as client:
        deep = client.get("/api/tickets", params={"filter": deep_json})
        nested = client.get("/api/tickets", params={"filter": json.dumps(nots)})
        many = client.get("/api/tickets", params={"filter": json.dumps(wide)})
        long_in = client.get("/api/tickets?priority__in=" + ",".join(["1"] * 30_000))
        in_json = client.get(
            "/api/tickets", params={"filter": json.dumps({"priority": {"in": list(range(1001))}})}
        )
        fine = client.get("/api/tickets", params={"priority__in": ",".join(["1"] * 1000)})
    _refused(deep, 400, "filter: nested deeper than 32 levels")
    _refused(nested, 400, "nest at most 16 deep")
    _refused(many, 400, "at most 500 conditions and groups")
    _refused(long_in, 400, "'in' takes at most 1000 values, got 30000")
    _refused(in_json, 400, "'in' takes at most 1000 values, got 1001")
    assert fine.status_code == 200, fine.text
    _still_up(limited)


@pytest.mark.parametrize(
    "cursor",
    [
        base64.urlsafe_b64encode(str(2**63 + 5).encode()).decode(),
        base64.urlsafe_b64encode(b"-1").decode(),
        base64.urlsafe_b64encode(b"abc").decode(),
        "not base64 at all!",
        "QUFB" * 100,
    ],
)
@pytest.mark.parametrize("path", ["/api/tickets", "/api/workflow-runs"])
def test_a_cursor_this_api_did_not_give_is_400(limited: Site, cursor: str, path: str) -> None:
    with limited.client(limited.a) as client:
        response = client.get(path, params={"cursor": cursor})
    _refused(response, 400, "cursor: not a cursor this API gave")


def test_a_cursor_the_api_gave_still_pages(limited: Site) -> None:
    with limited.client(limited.a) as client:
        for i in range(3):
            assert client.post("/api/tickets", json={"subject": f"page {i}"}).status_code == 201
        first = client.get("/api/tickets", params={"limit": 2}).json()
        second = client.get(
            "/api/tickets", params={"limit": 2, "cursor": first["meta"]["next_cursor"]}
        )
    assert second.status_code == 200 and second.json()["data"]


# -- headers ---------------------------------------------------------------------------------


def test_if_match_too_long_or_too_big_is_refused_not_500(limited: Site) -> None:
    with limited.client(limited.a) as client:
        record = client.post("/api/tickets", json={"subject": "etag"}).json()
        path = f"/api/tickets/{record['id']}"
        long = client.patch(path, json={"subject": "y"}, headers={"If-Match": "9" * 5000})
        big = client.patch(path, json={"subject": "y"}, headers={"If-Match": f'W/"{"9" * 30}"'})
        gone = client.delete(path, headers={"If-Match": "9" * 5000})
        right = client.patch(path, json={"subject": "y"}, headers={"If-Match": 'W/"1"'})
    _refused(long, 400, "If-Match is longer than 64 characters")
    _refused(big, 412, "names no version")
    _refused(gone, 400, "If-Match is longer than 64 characters")
    assert right.status_code == 200 and right.json()["version"] == 2


def test_an_if_match_of_unicode_digits_is_400_not_500(limited: Site) -> None:
    """'²' passes `str.isdigit` and fails `int()` (found by schemathesis)."""
    with limited.client(limited.a) as client:
        record = client.post("/api/tickets", json={"subject": "digits"}).json()
        path = f"/api/tickets/{record['id']}"
        patched = client.patch(path, json={"subject": "y"}, headers={"If-Match": b"\xb2"})
        deleted = client.delete(path, headers={"If-Match": b'W/"\xb9\xb2"'})
    _refused(patched, 400, "expected an ETag like")
    _refused(deleted, 400, "expected an ETag like")


def test_a_long_request_id_never_fails_a_write(limited: Site) -> None:
    headers = {"X-Request-ID": "proxy-" + "r" * 300}
    with limited.client(limited.a) as client:
        created = client.post("/api/tickets", json={"subject": "rid"}, headers=headers)
        assert created.status_code == 201, created.text
        path = f"/api/tickets/{created.json()['id']}"
        patched = client.patch(path, json={"subject": "rid 2"}, headers=headers)
        deleted = client.delete(path, headers=headers)
    assert patched.status_code == 200, patched.text
    assert deleted.status_code == 204, deleted.text


# -- the limits themselves -------------------------------------------------------------------


def test_a_long_request_id_keeps_a_prefix_and_stays_distinct() -> None:
    one, two = fit_request_id("p" * 100 + "1"), fit_request_id("p" * 100 + "2")
    assert len(one) == len(two) == REQUEST_ID_CHARS and one != two
    assert one.startswith("p" * 40)
    assert fit_request_id("short-id") == "short-id"


def test_limits_come_from_the_environment_and_refuse_nonsense() -> None:
    assert read_limits({"PLINTH_MAX_BODY_BYTES": "10", "PLINTH_MAX_ERRORS": "5"}).errors == 5
    assert read_limits({}).body_bytes == 2 * 1024 * 1024
    with pytest.raises(LimitSettingError, match="PLINTH_MAX_IN_VALUES"):
        read_limits({"PLINTH_MAX_IN_VALUES": "0"})
    with pytest.raises(LimitSettingError, match="PLINTH_MAX_ERRORS"):
        read_limits({"PLINTH_MAX_ERRORS": "²"})  # a digit to str.isdigit, not to int()
    assert ascii_digits("120") and not ascii_digits("²") and not ascii_digits("")


def test_a_bad_limit_setting_stops_the_command(tmp_path: Path) -> None:
    from tests.conftest import plinth, plinth_env

    env = plinth_env(f"sqlite:///{tmp_path / 'x.sqlite3'}", tmp_path, PLINTH_MAX_BODY_BYTES="lots")
    result = plinth("migrate", env=env, cwd=tmp_path, check=False)
    assert result.returncode != 0
    assert (
        "PLINTH_MAX_BODY_BYTES='lots': expected a positive integer" in result.stderr + result.stdout
    )


def test_the_admins_json_is_held_to_the_same_limits(limited: Site) -> None:
    from tests.admin_session import admin_client

    client = admin_client(limited.url, limited.a)  # a JSON login still goes through
    tables = client.post(
        "/api/tables/ticket/",
        content=_nested(10_000),
        headers={"Content-Type": "application/json"},
    )
    login = httpx.post(
        f"{limited.url}/admin/public/login/",
        content=_nested(10_000),
        headers={"Content-Type": "application/json"},
    )
    digits = client.post(
        "/api/tables/ticket/",
        content='{"subject": "x", "priority": ' + "9" * 5000 + "}",
        headers={"Content-Type": "application/json"},
    )
    created = client.post("/api/tables/ticket/", json={"subject": "via admin"})
    client.close()
    _refused(tables, 400, "nested deeper than 32 levels")
    _refused(login, 400, "nested deeper than 32 levels")
    _refused(digits, 400, "a number has 5000 digits")
    assert created.status_code < 300, created.text
    _still_up(limited)


def test_no_request_above_ended_in_an_unhandled_error(limited: Site) -> None:
    """Last in the module: the server's log holds no traceback from any of the cases."""
    log = "".join(p.read_text() for p in limited.workdir.glob("serve-*.log"))
    assert "Traceback" not in log and "unhandled error" not in log, log[-3000:]
