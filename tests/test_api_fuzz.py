"""Bounded input across every route (issue: "bounded input everywhere"), on a real server:

- a fuzz of each limit of runtime/limits.py, generalized over the routes: every operation of
  the OpenAPI document (and so every /auth route), and every route of piccolo-admin's JSON API
  with a signed-in admin session and its CSRF token, gets bodies, query values and headers
  built to exceed each limit → a 4xx problem+json (the admin: a clear 4xx), never a 500, while
  a probe measures that the server keeps answering another request within 100 ms;
- schemathesis on the OpenAPI (bounded examples), authenticated: no server error, and every
  status answered is one the document declares.

tests/test_limits.py holds the exact wording of each limit on one route; this module holds
that no route escapes them."""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from runtime.limits import Limits
from tests.api_site import EMAIL, ApiSite, serve_api_site, server_log
from tests.conftest import PASSWORD, REPO

BODY_LIMIT = 200_000  # the server's PLINTH_MAX_BODY_BYTES: big bodies stay quick to send
LIMITS = Limits(body_bytes=BODY_LIMIT)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiSite]:
    workdir = tmp_path_factory.mktemp("fuzz")
    yield from serve_api_site(request.param, workdir, PLINTH_MAX_BODY_BYTES=str(BODY_LIMIT))


# -- what to send ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Attack:
    """One request built to cross one limit; `why` names the limit."""

    method: str
    path: str
    why: str
    content: bytes | None = None
    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    bounded: bool = True  # past a limit: a 4xx; else (a value that may just match nothing) < 500


def _nested(depth: int) -> bytes:
    return b'{"a": ' * depth + b"1" + b"}" * depth


def body_attacks(method: str, path: str) -> list[Attack]:
    """A JSON body past each of its limits: depth, a number's digits, the size, the errors."""
    json_type = {"Content-Type": "application/json"}
    many_keys = json.dumps({f"k{i}": 1 for i in range(20_000)}).encode()
    return [
        Attack(method, path, "json depth", _nested(10_000), headers=json_type),
        Attack(method, path, "json depth (just past)", _nested(LIMITS.json_depth + 1),
               headers=json_type),
        Attack(method, path, "number digits", b'{"n": ' + b"9" * 5000 + b"}", headers=json_type),
        Attack(method, path, "number digits (real)", b'{"n": 1.' + b"5" * 5000 + b"}",
               headers=json_type),
        Attack(method, path, "body bytes", b'{"s": "' + b"x" * (2 * BODY_LIMIT) + b'"}',
               headers=json_type),
        Attack(method, path, "errors per payload", many_keys, headers=json_type),
    ]  # fmt: skip


def filter_attacks(path: str) -> list[Attack]:
    """?filter= past its depth and node limits and a list past the `in` limit."""
    deep = '{"not": ' * 200 + '{"id": {"isnull": true}}' + "}" * 200
    nots: dict[str, Any] = {"id": {"isnull": True}}
    for _ in range(LIMITS.filter_depth + 4):
        nots = {"not": nots}
    wide = {"or": [{"id": {"isnull": True}}] * (LIMITS.filter_nodes + 100)}
    long_in = {"id": {"in": ["00000000-0000-0000-0000-000000000000"] * (LIMITS.in_values + 1)}}
    return [
        Attack("GET", path, "filter json depth", params={"filter": deep}),
        Attack("GET", path, "filter depth", params={"filter": json.dumps(nots)}),
        Attack("GET", path, "filter nodes", params={"filter": json.dumps(wide)}),
        Attack("GET", path, "in values (filter)", params={"filter": json.dumps(long_in)}),
    ]


def query_attacks(method: str, path: str, parameter: dict[str, Any]) -> list[Attack]:
    """A query parameter given values past what it can mean: a huge number, long text, an
    `in` list past its limit, a cursor no page gave."""
    name = parameter["name"]
    if name == "filter":
        return filter_attacks(path)
    values = {"digits": "9" * 2000, "long text": "x" * 4000, "negative": "-" + "9" * 40}
    if "__" in name.strip("_"):  # an operator's shorthand: its field's eq has the three
        values = {"digits": values["digits"]}
    found = [
        Attack(method, path, f"{name}: {why}", params={name: v}, bounded=False)
        for why, v in values.items()
    ]
    if name.endswith(("__in", "__nin")):
        many = ",".join(["1"] * (LIMITS.in_values * 3))
        found.append(Attack(method, path, f"{name}: in values", params={name: many}))
    if name == "cursor":
        for value in ("OTIyMzM3MjAzNjg1NDc3NTgxMw==", "QUFB" * 100):  # 2^63, too long
            found.append(Attack(method, path, "cursor", params={name: value}))
    return found


def header_attacks(method: str, path: str, operation: dict[str, Any]) -> list[Attack]:
    """If-Match past its length and past any version, a bearer token no key signed; and
    X-Request-ID past its column, X-Organization past any slug (a write must then still
    apply or fail on something else: never a 500)."""
    long_id, long_org = {"X-Request-ID": "r" * 5000}, {"X-Organization": "o" * 5000}
    found = [
        Attack(method, path, "x-request-id", headers=long_id, bounded=False),
        Attack(method, path, "x-organization", headers=long_org, bounded=False),
        Attack(
            method,
            path,
            "authorization",
            headers={"Authorization": "Bearer " + "t" * 5000},
            bounded=operation.get("security") != [],
        ),
    ]
    if any(p["name"] == "If-Match" for p in operation.get("parameters", [])):
        found += [
            Attack(method, path, "if-match chars", headers={"If-Match": "9" * 5000}),
            Attack(method, path, "if-match digits", headers={"If-Match": f'W/"{"9" * 40}"'}),
        ]
    return found


# -- where to send it ------------------------------------------------------------------------


NO_ID = "00000000-0000-0000-0000-000000000000"


def _concrete(path: str, item: dict[str, Any], ids: dict[str, str]) -> str:
    """`path` with each parameter a real value: the aimed record's id, an enum's first."""
    slug = path.split("/")[2]
    for parameter in item.get("parameters", []):
        if parameter["in"] != "path":
            continue
        schema = parameter["schema"]
        value = schema["enum"][0] if "enum" in schema else ids.get(slug, NO_ID)
        path = path.replace("{" + parameter["name"] + "}", value)
    return path


def api_attacks(document: dict[str, Any], ids: dict[str, str]) -> list[Attack]:
    """Every operation of the document, each limit its inputs can cross (deletes last: they
    may remove the record the other attacks aim at)."""
    found: list[Attack] = []
    for template, item in document["paths"].items():
        path = _concrete(template, item, ids)
        for method, operation in item.items():
            if method == "parameters":
                continue
            method = method.upper()
            if "application/json" in operation.get("requestBody", {}).get("content", {}):
                found += body_attacks(method, path)
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query":
                    found += query_attacks(method, path, parameter)
            found += header_attacks(method, path, operation)
    return sorted(found, key=lambda a: a.method == "DELETE")


def admin_attacks(document: dict[str, Any]) -> list[Attack]:
    """Every route of piccolo-admin's JSON API (its own OpenAPI), paths under /admin/api."""
    found: list[Attack] = []
    for template, item in document["paths"].items():
        path = "/api" + template.replace("{row_id}", NO_ID).replace("{form_slug}", "none")
        for method, operation in item.items():
            method = method.upper()
            if method in ("POST", "PUT", "PATCH"):
                found += body_attacks(method, path)
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query":
                    found += query_attacks(method, path, parameter)
    return found


# -- sending it, and the probe ---------------------------------------------------------------


class Probe(threading.Thread):
    """Asks the server something cheap every 50 ms and keeps how long each answer took."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.stopped, self.seconds = url, threading.Event(), list[float]()

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            while not self.stopped.wait(0.05):
                started = time.monotonic()
                assert client.get("/auth/me").status_code == 401
                self.seconds.append(time.monotonic() - started)


def _fired(client: httpx.Client, attack: Attack) -> httpx.Response:
    return client.request(
        attack.method, attack.path, content=attack.content, params=attack.params,
        headers=attack.headers,
    )  # fmt: skip


def _wrong(response: httpx.Response, attack: Attack, *, admin: bool) -> str | None:
    """What is wrong with the answer to `attack`, or None."""
    status, kind = response.status_code, response.headers.get("content-type")
    if status >= 500:
        return f"{status}: {response.text[:200]}"
    if attack.bounded and not 400 <= status < 500:
        return f"{status}, expected a 4xx"
    if status >= 400 and not admin and kind != "application/problem+json":
        return f"{status} as {kind}, not problem+json"
    if status >= 400 and admin and not response.content:
        return f"{status} without a word of why"
    return None


def fire(client: httpx.Client, attacks: list[Attack], *, admin: bool = False) -> list[str]:
    wrong = []
    for attack in attacks:
        try:
            response = _fired(client, attack)
        except httpx.HTTPError as error:
            wrong.append(f"{attack.method} {attack.path} [{attack.why}]: {error!r}")
            continue
        problem = _wrong(response, attack, admin=admin)
        if problem is not None:
            wrong.append(f"{attack.method} {attack.path} [{attack.why}]: {problem}")
    return wrong


def _admin(site: ApiSite) -> httpx.Client:
    """A signed-in piccolo-admin session, sending its CSRF token, as its front-end does."""
    client = httpx.Client(base_url=f"{site.url}/admin", timeout=30)
    client.get("/")
    token = client.cookies["csrftoken"]
    signed_in = client.post("/public/login/", json={"username": EMAIL, "password": PASSWORD},
                            headers={"X-CSRFToken": token})  # fmt: skip
    assert signed_in.status_code == 200, signed_in.text
    client.headers["X-CSRFToken"] = client.cookies["csrftoken"]
    return client


@pytest.mark.alone  # it times the server's answers
def test_every_route_answers_input_past_each_limit_with_a_4xx(api: ApiSite) -> None:
    document = httpx.get(f"{api.url}/api/openapi.json").json()
    attacks = api_attacks(document, api.ids)
    admin = _admin(api)
    admin_document = admin.get("/api/openapi.json").json()
    on_admin = admin_attacks(admin_document) + body_attacks("POST", "/public/login/")
    probe = Probe(api.url)
    probe.start()
    started = time.monotonic()
    try:
        with api.client() as client:
            wrong = fire(client, attacks)
        wrong += fire(admin, on_admin, admin=True)
    finally:
        probe.stopped.set()
        probe.join()
        admin.close()
    took = time.monotonic() - started
    assert not wrong, "\n".join(wrong[:40]) + f"\n({len(wrong)} of {len(attacks) + len(on_admin)})"
    assert len(attacks) > 500 and len(on_admin) > 100 and took > 1  # the fuzz did run
    seconds = sorted(probe.seconds)
    assert len(seconds) > 10
    # The loop never stalls: the typical answer is well within 100 ms and even the slowest (a
    # loaded 2-core machine, a big body being parsed) stays far from a blocked event loop.
    assert statistics.median(seconds) < 0.1, seconds
    assert seconds[-1] < 2, seconds[-5:]
    assert "Traceback" not in server_log(api) and "unhandled error" not in server_log(api)


# -- what the fuzz found, held one by one ------------------------------------------------------

# piccolo-admin's list and count queries on values the database cannot take: each a 400 naming
# the parameter (admin/query_bounds.py), where the driver failed (a 500) before.
ADMIN_QUERIES = {
    "priority=" + "9" * 30: "priority: out of range for a 32-bit integer",
    "version=-" + "9" * 40: "version: out of range for a 32-bit integer",
    "priority=3000000000": "priority: out of range for a 32-bit integer",
    "subject=" + "x" * 300: "not a value these fields can hold: subject",
    "__order=nonsense": "No matching column found with name == nonsense",
    "__visible_fields=id,nonsense": "No matching column found with name == nonsense",
    "__page=" + "9" * 30: "__page: past row",
    "__page_size=-5": "__page and __page_size start at 1",
}


@pytest.mark.parametrize("where", ["/api/tables/ticket/", "/api/tables/ticket/count/"])
def test_admin_list_values_no_column_can_hold_are_400(api: ApiSite, where: str) -> None:
    client = _admin(api)
    try:
        for query, words in ADMIN_QUERIES.items():
            if where.endswith("count/") and query.startswith(("__order", "__visible", "__page")):
                continue  # the count takes filters only
            response = client.get(f"{where}?{query}")
            assert response.status_code == 400, (query, response.text[:300])
            assert words in response.text, (query, response.text[:300])
        assert client.get(f"{where}?priority=3").status_code == 200
    finally:
        client.close()


# -- schemathesis ----------------------------------------------------------------------------

SCHEMATHESIS_CONFIG = """\
[generation]
max-examples = {examples}
database = "none"

[[operations]]
include-path-regex = "^/api/tickets/\\\\{{id\\\\}}"
parameters = {{ "path.id" = "{tickets}" }}

[[operations]]
include-path-regex = "^/api/documents/\\\\{{id\\\\}}"
parameters = {{ "path.id" = "{documents}" }}
"""


@pytest.mark.alone  # it times the whole run
@pytest.mark.parametrize(
    "api", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)  # the production database; the fuzz above runs on both
def test_schemathesis_finds_no_server_error_and_no_undeclared_status(
    api: ApiSite, tmp_path: Path
) -> None:
    """Generated requests (and the negative ones) on every operation, as the owner (an API
    token: /auth/logout cannot end it), the deletes excluded so the aimed records stay."""
    config = tmp_path / "schemathesis.toml"
    config.write_text(SCHEMATHESIS_CONFIG.format(examples=8, **api.ids))
    command = [
        sys.executable, "-m", "tests.schemathesis_cli", "--config-file", str(config), "run",
        f"{api.url}/api/openapi.json", "--checks", "not_a_server_error,status_code_conformance",
        "--phases", "examples,fuzzing", "--header", f"Authorization: Bearer {api.token}",
        "--exclude-method", "DELETE", "--seed", "15", "--no-shrink", "--workers", "2",
        "--request-timeout", "30", "--no-color", "--max-failures", "20",
    ]  # fmt: skip
    started = time.monotonic()
    env = {**os.environ, "PYTHONPATH": str(REPO)}  # its cache goes to tmp_path, not the repo
    result = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    took = time.monotonic() - started
    report = result.stdout + result.stderr
    assert result.returncode == 0, report[-8000:]
    tested = re.search(r"(\d+) generated, (\d+) passed", report)
    assert tested and int(tested[1]) > 150 and tested[1] == tested[2], report[-3000:]
    assert took < 120, f"schemathesis took {took:.0f}s"
    assert "Traceback" not in server_log(api), server_log(api)[-3000:]
