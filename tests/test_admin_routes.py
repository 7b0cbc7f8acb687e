"""Every route of the mounted admin app is tenant-safe.

The routes are enumerated from the app itself; each (method, path) must have a check below, so
a route that a piccolo-admin upgrade adds fails this test until someone decides how it is safe.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from starlette.routing import Mount, Route

from admin import build_admin
from runtime.database import engine_from_url
from runtime.definitions import load_project
from runtime.schema import build_registry
from runtime.service import RecordService
from tests.admin_session import admin_client, membership_id
from tests.conftest import DEFINITIONS, Site


def _routes(app, prefix: str = "") -> Iterator[tuple[str, str]]:
    """(method, path) of every route, through middleware and mounts."""
    while not hasattr(app, "routes") and hasattr(app, "app"):
        app = app.app
    for route in getattr(app, "routes", []):
        if isinstance(route, Mount):
            inner = route.app
            while not hasattr(inner, "routes") and hasattr(inner, "app"):
                inner = inner.app
            if hasattr(inner, "routes"):
                yield from _routes(inner, prefix + route.path)
            else:
                yield ("MOUNT", prefix + route.path)
        elif isinstance(route, Route):
            for method in sorted(route.methods or {"GET"}):
                if method != "HEAD":
                    yield (method, prefix + route.path)


def enumerate_admin_routes() -> set[tuple[str, str]]:
    registry = build_registry(load_project(DEFINITIONS), engine_from_url("sqlite:///:memory:"))
    admin = build_admin(RecordService(registry), site_name="t", production=False)
    return set(_routes(admin))


class Probe:
    """A's admin session, with B's records to try to reach."""

    def __init__(self, site: Site) -> None:
        self.site = site
        with site.client(site.b) as client:
            self.b_contact = client.post("/api/contacts", json={"name": "Globex Gina"}).json()
            self.b_ticket = client.post(
                "/api/tickets",
                json={"subject": "GLOBEX-ONLY", "contact": self.b_contact["id"]},
            ).json()
        with site.client(site.a) as client:
            self.a_ticket = client.post("/api/tickets", json={"subject": "acme-own"}).json()
        self.client = admin_client(site.url, site.a)
        self.b_markers = {
            self.b_ticket["id"],
            self.b_contact["id"],
            "GLOBEX-ONLY",
            "Globex Gina",
            self.b_ticket["tenant_id"],
        }

    def own_count(self, table: str) -> int:
        """How many rows of `table` A has, as the REST API counts them."""
        with self.site.client(self.site.a) as client:
            return client.get(f"/api/{table}s", params={"count": "true"}).json()["meta"]["count"]

    def b_id(self, table: str) -> str:
        return self.b_ticket["id"] if table == "ticket" else self.b_contact["id"]

    def shows_nothing_of_b(self, response: httpx.Response) -> None:
        assert response.status_code < 500, response.text
        leaked = [m for m in self.b_markers if m in response.text]
        assert not leaked, f"{response.request.method} {response.request.url} leaked {leaked}"

    def not_found(self, response: httpx.Response) -> None:
        assert response.status_code == 404, (response.request.url, response.text)
        self.shows_nothing_of_b(response)


def _b_unchanged(probe: Probe) -> None:
    with probe.site.client(probe.site.b) as client:
        ticket = client.get(f"/api/tickets/{probe.b_ticket['id']}").json()
    assert (ticket["subject"], ticket["version"]) == ("GLOBEX-ONLY", 1)


def check_table_route(probe: Probe, method: str, path: str) -> None:
    table = path.split("/")[3]  # /api/tables/<table>/...
    base = f"/api/tables/{table}"
    b_id = probe.b_id(table)
    c = probe.client
    tail = path.removeprefix(f"/api/tables/{table}")
    if tail == "/" and method == "GET":
        for params in (
            {},
            {"__readable": "true", "__range_header": "true"},
            {"tenant_id": probe.b_ticket["tenant_id"]},
            {"id": b_id},
        ):
            response = c.get(f"{base}/", params=params)
            probe.shows_nothing_of_b(response)
        ranged = c.get(f"{base}/", params={"__range_header": "true"})
        assert "content-range" in ranged.headers, (ranged.request.url, ranged.text)
        assert ranged.headers["content-range"].endswith(f"/{probe.own_count(table)}")
    elif tail == "/" and method == "POST":
        body = {"subject": "made in admin"} if table == "ticket" else {"name": "made in admin"}
        body["tenant_id"] = probe.b_ticket["tenant_id"]
        response = c.post(f"{base}/", json=body)
        assert response.status_code == 201, response.text
        new_id = response.json()[0]["id"]
        with probe.site.client(probe.site.a) as client:
            created = client.get(f"/api/{table}s/{new_id}").json()
        assert created["tenant_id"] == probe.a_ticket["tenant_id"]
    elif tail == "/" and method == "DELETE":
        probe.shows_nothing_of_b(c.delete(f"{base}/", params={"id": b_id}))
        _b_unchanged(probe)
    elif tail == "/count/":
        response = c.get(f"{base}/count/")
        probe.shows_nothing_of_b(response)
        assert response.json()["count"] == probe.own_count(table)
    elif tail == "/ids/":
        for params in ({}, {"search": "Globex"}, {"search": "GLOBEX"}):
            probe.shows_nothing_of_b(c.get(f"{base}/ids/", params=params))
    elif tail in ("/new/", "/schema/", "/references/"):
        probe.shows_nothing_of_b(c.get(f"{base}{tail}"))
    elif tail == "/{row_id:str}/":
        url = f"{base}/{b_id}/"
        field = "subject" if table == "ticket" else "name"
        response = {
            "GET": lambda: c.get(url, params={"__readable": "true"}),
            "PUT": lambda: c.put(url, json={field: "hijacked"}),
            "PATCH": lambda: c.patch(url, json={field: "hijacked"}),
            "DELETE": lambda: c.delete(url),
        }[method]()
        probe.not_found(response)
        _b_unchanged(probe)
    else:
        raise AssertionError(f"no check written for admin route {method} {path}")


def metadata_only(probe: Probe, method: str, path: str) -> None:
    if method == "GET" and "{" not in path:
        probe.shows_nothing_of_b(probe.client.get(path))


def forms(probe: Probe, method: str, path: str) -> None:
    """No forms are configured: every form route answers 404 or an empty list."""
    url = path.replace("{form_slug:str}", "anything")
    response = probe.client.request(method, url, json={} if method == "POST" else None)
    assert response.status_code in (200, 404, 422), response.text
    probe.shows_nothing_of_b(response)


def members_page(probe: Probe, method: str, path: str) -> None:
    """A's owner sees and changes A's members only, whatever organization or membership id
    the request names; B's owner keeps B's organization."""
    site, c = probe.site, probe.client
    b_slug, b_member = site.orgs[site.b], membership_id(site, site.b)
    if method == "GET":
        for params in ({}, {"org": b_slug}):
            response = c.get(path, params=params)
            probe.shows_nothing_of_b(response)
            assert response.status_code == 200 and site.b not in response.text
        return
    for action in ("grant", "revoke", "deactivate"):
        fields = {"action": action, "membership_id": b_member, "role": "viewer", "org": b_slug}
        response = c.post(path, data={"csrftoken": c.cookies["csrftoken"], **fields})
        probe.shows_nothing_of_b(response)
        assert response.status_code == 422 and "no such member" in response.text
    with site.client(site.b) as client:
        assert client.get("/auth/me").json()["roles"] == ["owner"]


def file_route(probe: Probe, method: str, path: str) -> None:
    """B's record (and any field) is 404 from A's admin session, whatever the method; an
    unsafe method without the CSRF header is 403 before anything else. The rules on a real
    file field: tests/files/test_admin_files.py."""
    c = probe.client
    for table in ("ticket", "contact"):
        url = path.format(table=table, row_id=probe.b_id(table), field="subject")
        probe.not_found(c.request(method, url, content=b"x" if method == "PUT" else None))
        if method != "GET":
            bare = c.request(method, url, headers={"X-CSRFToken": ""})
            assert bare.status_code == 403 and "CSRF" in bare.text, bare.text
    _b_unchanged(probe)


def b_run_id(probe: Probe) -> str:
    """A workflow run of B's (the repository's `triage` runs on a ticket of priority 4+)."""
    if not hasattr(probe, "b_run"):
        with probe.site.client(probe.site.b) as client:
            client.post("/api/tickets", json={"subject": "GLOBEX-ONLY urgent", "priority": 5})
            deadline = time.monotonic() + 30
            while not (runs := client.get("/api/workflow-runs").json()["data"]):
                assert time.monotonic() < deadline, "B's triage run never appeared"
                time.sleep(0.2)
        probe.b_run = runs[0]["id"]
        probe.b_markers.add(probe.b_run)
    return str(probe.b_run)


def plinth_page(probe: Probe, method: str, path: str) -> None:
    """Plinth's own pages (admin/record_page.py, runs_page.py, home_page.py): B's record and
    B's run are 404 from A's session, whatever the method; A's overview counts A's rows only
    and lists none of B's runs or changes; an unsafe method without the CSRF token is 403
    (or 404 first, for what A cannot see)."""
    c, b_run = probe.client, b_run_id(probe)
    if path == "/plinth/runs/":
        for params in ({}, {"status": "succeeded"}, {"workflow": "triage"}, {"page": "2"}):
            response = c.get(path, params=params)
            probe.shows_nothing_of_b(response)
            assert response.status_code == 200
        return
    if path == "/plinth/":
        response = c.get(path)
        probe.shows_nothing_of_b(response)
        assert response.status_code == 200
        for table in ("ticket", "contact"):
            assert f'data-entity="{table.title()}"><span class="n">{probe.own_count(table)}<' in (
                response.text
            )
        return
    url = path.format(
        table="ticket",
        id=probe.b_ticket["id"] if "records" in path else b_run,
        name="start",
    )
    data = {"csrftoken": c.cookies["csrftoken"], "version": "1"}
    probe.not_found(c.request(method, url, data=data if method == "POST" else None))
    if method == "POST":
        bare = c.post(url, data={"version": "1"}, headers={"X-CSRFToken": ""})
        assert bare.status_code in (403, 404), bare.text
        probe.shows_nothing_of_b(bare)
    _b_unchanged(probe)


def shadowed(probe: Probe, method: str, path: str) -> None:
    """piccolo-admin's own endpoint under a prefix that ours (listed separately) takes over:
    no path under it reaches piccolo-admin's."""
    response = probe.client.get(f"{path}/anything/")
    assert response.status_code == 404, response.text


def not_applicable(probe: Probe, method: str, path: str) -> None:
    """Touches no entity rows (static files, login, the signed-in user's own account)."""


CHECKS: dict[tuple[str, str], Callable[[Probe, str, str], None]] = {
    ("GET", "/"): metadata_only,
    ("MOUNT", "/assets"): not_applicable,
    ("GET", "/api/docs/"): metadata_only,
    ("GET", "/openapi.json"): metadata_only,
    ("GET", "/api/openapi.json"): metadata_only,
    ("GET", "/api/docs/oauth2-redirect/"): metadata_only,
    ("GET", "/api/tables/"): metadata_only,
    ("GET", "/api/tables/grouped/"): metadata_only,
    ("GET", "/api/links/"): metadata_only,
    ("GET", "/api/plinth/permissions/"): metadata_only,
    ("GET", "/api/plinth/files/{table}/{row_id}/{field}/"): file_route,
    ("PUT", "/api/plinth/files/{table}/{row_id}/{field}/"): file_route,
    ("DELETE", "/api/plinth/files/{table}/{row_id}/{field}/"): file_route,
    ("GET", "/api/forms/"): forms,
    ("GET", "/api/forms/grouped/"): forms,
    ("GET", "/api/forms/{form_slug:str}/"): forms,
    ("GET", "/api/forms/{form_slug:str}/schema/"): forms,
    ("POST", "/api/forms/{form_slug:str}/"): forms,
    ("GET", "/api/user/"): metadata_only,
    ("POST", "/api/change-password/"): not_applicable,
    ("GET", "/api/mfa-setup/"): metadata_only,
    ("POST", "/api/mfa-setup/"): not_applicable,
    ("MOUNT", "/api/mfa-setup"): shadowed,
    ("GET", "/plinth/"): plinth_page,
    ("GET", "/plinth/records/{table}/{id}/"): plinth_page,
    ("POST", "/plinth/records/{table}/{id}/transitions/{name}/"): plinth_page,
    ("POST", "/plinth/records/{table}/{id}/actions/{name}/"): plinth_page,
    ("GET", "/plinth/runs/"): plinth_page,
    ("GET", "/plinth/runs/{id}/"): plinth_page,
    ("POST", "/plinth/runs/{id}/"): plinth_page,
    ("GET", "/members/"): members_page,
    ("POST", "/members/"): members_page,
    ("POST", "/api/media/"): not_applicable,
    ("POST", "/api/media/generate-file-url/"): not_applicable,
    ("GET", "/public/docs/"): metadata_only,
    ("GET", "/public/openapi.json"): metadata_only,
    ("GET", "/public/docs/oauth2-redirect/"): metadata_only,
    ("MOUNT", "/public/login"): not_applicable,
    ("POST", "/public/logout/"): not_applicable,
    ("GET", "/public/meta/"): metadata_only,
    ("GET", "/public/translations/"): metadata_only,
    ("GET", "/public/translations/{language_code:str}/"): not_applicable,
}


ENTITY_TABLES = {e.table for e in load_project(DEFINITIONS).entities.values()}


def check_for(method: str, path: str) -> Callable[[Probe, str, str], None] | None:
    parts = path.split("/")
    if path.startswith("/api/tables/") and parts[3] in ENTITY_TABLES and len(parts) > 4:
        return check_table_route
    return CHECKS.get((method, path))


def test_every_admin_route_has_a_tenant_check() -> None:
    unhandled = sorted(r for r in enumerate_admin_routes() if check_for(*r) is None)
    assert not unhandled, f"admin routes without a tenant-safety check: {unhandled}"


@pytest.fixture
def probe(site: Site) -> Probe:
    return Probe(site)


def test_no_admin_route_reaches_another_tenants_rows(probe: Probe) -> None:
    routes = sorted(enumerate_admin_routes(), key=lambda r: (r[1], r[0] != "GET"))
    checked = 0
    for method, path in routes:
        check = check_for(method, path)
        assert check is not None, f"unhandled admin route {method} {path}"
        check(probe, method, path)
        checked += 1
    assert checked >= 30
    _b_unchanged(probe)


def test_an_admin_edit_goes_through_the_service(probe: Probe) -> None:
    ticket_id = probe.a_ticket["id"]
    response = probe.client.patch(f"/api/tables/ticket/{ticket_id}/", json={"subject": "renamed"})
    assert response.status_code == 200, response.text
    with probe.site.client(probe.site.a) as client:
        timeline = client.get(f"/api/tickets/{ticket_id}/timeline").json()["data"]
    assert timeline[0]["actor"] == probe.site.a
    assert timeline[0]["changes"] == {"subject": {"old": "acme-own", "new": "renamed"}}
    bad = probe.client.patch(f"/api/tables/ticket/{ticket_id}/", json={"priority": 99})
    assert bad.status_code == 422 and "at most 5" in bad.text
    assert bad.json()["detail"][0]["loc"][-1] == "priority"  # the shape the Vue form lists
