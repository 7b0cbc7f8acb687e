"""A running `plinth serve` (and `plinth worker`) across `plinth migrate` from another process:
clients hammer the API while a field is added or removed; none gets a 500, only 2xx or 503
with Retry-After, and the new definitions are served (API, OpenAPI, admin, workflows) within
seconds, without a restart."""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.admin_session import admin_client
from tests.conftest import (
    DEFINITIONS,
    Site,
    add_tenants,
    module_database,
    plinth,
    prepare_site,
    start_server,
    stop,
    wait_until_up,
)

SWITCH_SECONDS = 5  # the acceptance figure: the new field served this soon after `migrate`
PATIENCE = 30  # the test's own deadline (a loaded machine): what it asserts is SWITCH_SECONDS

CONTACT = """\
entity: Contact
module: helpdesk
display: "{{ name }}"
fields:
  name:  {type: string, max_length: 200, required: true}
%s
admin:
  list: [name]
  search: [name]
  order: name
"""
DEVICE = """\
entity: Device
module: assets
fields:
  name:      {type: string, required: true}
  bought_on: {type: date}
"""
GREETING = """\
workflow: greet
on: {event: created, entity: Contact}
when: {name: {eq: "greet me"}}
do:
  - update: {phone: "greeted"}
"""


@dataclass
class Hammer:
    """Clients looping GETs and POSTs in threads, keeping every status they were answered."""

    client: Callable[[], httpx.Client]
    body: dict[str, Any]
    answers: list[httpx.Response] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    halt: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> Hammer:
        self.threads = [threading.Thread(target=self._loop, daemon=True) for _ in range(3)]
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.halt.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def _loop(self) -> None:
        with self.client() as client:
            while not self.halt.is_set():
                try:
                    created = client.post("/api/contacts", json=self.body)
                    self.answers.append(created)
                    self.answers.append(client.get("/api/contacts", params={"limit": 5}))
                    if created.status_code == 201:
                        record = created.json()["id"]
                        self.answers.append(client.get(f"/api/contacts/{record}"))
                except httpx.HTTPError as error:  # a dropped connection is a failure too
                    self.errors.append(repr(error))

    def check(self) -> None:
        assert not self.errors, self.errors[:5]
        assert len(self.answers) > 20, "the clients hardly ran"
        statuses = sorted({r.status_code for r in self.answers})
        for response in self.answers:
            if response.status_code in (200, 201):
                continue
            assert response.status_code == 503, (statuses, response.text)
            assert response.headers["retry-after"].isdigit(), response.headers
            assert response.headers["content-type"] == "application/problem+json"


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def live(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Site]:
    """`plinth serve` (in-process worker) on its own copy of the definitions."""
    yield from _live_site(request.param, tmp_path)


def _live_site(kind: str, tmp_path: Path, **extra: str) -> Iterator[Site]:
    definitions = tmp_path / "definitions"
    shutil.copytree(DEFINITIONS, definitions)
    for database_url in module_database(kind, tmp_path):
        env = prepare_site(database_url, tmp_path, PLINTH_DEFINITIONS=str(definitions), **extra)
        url, process = start_server(env, tmp_path, timeout=PATIENCE * 3)
        try:
            yield add_tenants(database_url, Site(url=url, env=env, workdir=tmp_path))
        finally:
            stop(process)


def redefine(site: Site, fields: str, *, grow: bool = False) -> None:
    """Contact's fields become `fields`; `grow`: a new entity and a new workflow too."""
    folder = Path(site.env["PLINTH_DEFINITIONS"])
    (folder / "entities" / "contact.yaml").write_text(CONTACT % fields)
    if grow:
        (folder / "entities" / "device.yaml").write_text(DEVICE)
        (folder / "workflows" / "greet.yaml").write_text(GREETING)


def wait_for(condition: Callable[[], bool], timeout: float = PATIENCE) -> float:
    """Seconds until `condition()` held (polled), failing after `timeout`."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, "condition not met in time"
        time.sleep(0.1)
    return time.monotonic() - started


ADDED = "  email: {type: email}\n  phone: {type: string}"


def assert_greeted(client: httpx.Client) -> None:
    """A contact that the `greet` workflow (added by the migration) updates."""
    greeted = client.post("/api/contacts", json={"name": "greet me"}).json()["id"]
    wait_for(lambda: client.get(f"/api/contacts/{greeted}").json().get("phone") == "greeted")


def field_served(client: httpx.Client) -> bool:
    created = client.post("/api/contacts", json={"name": "n", "phone": "+49 30 1"})
    if created.status_code != 201:
        return False
    got = client.get(f"/api/contacts/{created.json()['id']}")
    return got.status_code == 200 and got.json().get("phone") == "+49 30 1"


@pytest.mark.alone  # it times the switch
def test_migrations_switch_a_running_server_without_a_500(live: Site) -> None:
    """A field, an entity and a workflow added; then a field removed and one renamed (the
    issue's `no such column`: an old model's query of a column that is gone)."""
    client = live.client(live.a)
    with Hammer(lambda: live.client(live.a), {"name": "load", "email": "a@b.test"}) as hammer:
        time.sleep(0.5)
        redefine(live, ADDED, grow=True)
        live.plinth("migrate")
        seconds = wait_for(lambda: field_served(client))
        time.sleep(0.5)  # and keeps serving it under load
    hammer.check()
    assert seconds < SWITCH_SECONDS, f"the new field took {seconds:.1f}s to be served"
    check_added(live, client)
    with Hammer(lambda: live.client(live.a), {"name": "load"}) as hammer:
        time.sleep(0.5)
        redefine(live, "  mobile: {type: string, renamed_from: phone}")
        folder = Path(live.env["PLINTH_DEFINITIONS"])
        for name, old, new in (
            ("entities/ticket.yaml", "contact.email, ", ""),
            ("workflows/greet.yaml", "phone", "mobile"),
        ):
            (folder / name).write_text((folder / name).read_text().replace(old, new))
        live.plinth("migrate", "--allow-destructive")
        wait_for(lambda: "mobile" in client.get("/api/contacts?limit=1").json()["data"][0])
        time.sleep(0.5)
    hammer.check()
    record = client.get(
        "/api/contacts", params={"limit": 1, "filter": '{"mobile": {"eq": "+49 30 1"}}'}
    )
    assert record.status_code == 200 and record.json()["data"], record.text  # kept its values
    refused = client.post("/api/contacts", json={"name": "x", "email": "a@b.test"})
    assert refused.status_code == 422, refused.text  # the field is gone from the model too


def check_added(live: Site, client: httpx.Client) -> None:
    """The added field and entity in OpenAPI, the API and the admin; the workflow runs."""
    spec = client.get("/api/openapi.json").json()
    assert "phone" in spec["components"]["schemas"]["Contact"]["properties"]
    assert "/api/devices" in spec["paths"]
    device = client.post("/api/devices", json={"name": "laptop", "bought_on": "2026-11-30"})
    assert device.status_code == 201 and device.json()["bought_on"] == "2026-11-30", device.text
    admin = admin_client(live.url, live.a)
    assert "device" in admin.get("/api/tables/").json()
    assert "phone" in admin.get("/api/tables/contact/schema/").json()["properties"]
    rows = admin.get("/api/tables/device/").json()["rows"]
    assert [r["bought_on"] for r in rows] == ["2026-11-30"], rows
    assert_greeted(client)  # the workflow the migration added, on the in-process worker


@pytest.fixture
def sqlite_live(tmp_path: Path) -> Iterator[Site]:
    yield from _live_site("sqlite", tmp_path)


def test_definitions_that_do_not_match_the_database_answer_503(sqlite_live: Site) -> None:
    """A migration from other definitions than the server's: it cannot serve, and says so."""
    client = sqlite_live.client(sqlite_live.a)
    other = sqlite_live.workdir / "other"
    shutil.copytree(sqlite_live.env["PLINTH_DEFINITIONS"], other)
    (other / "entities" / "contact.yaml").write_text(
        CONTACT % "  email: {type: email}\n  fax: {type: string}"
    )
    env = {**sqlite_live.env, "PLINTH_DEFINITIONS": str(other)}
    plinth("migrate", env=env, cwd=sqlite_live.workdir)
    wait_for(lambda: client.get("/api/contacts").status_code == 503)
    answer = client.get("/api/contacts")
    assert answer.headers["retry-after"].isdigit()
    assert answer.headers["content-type"] == "application/problem+json"
    assert "not the ones the database was migrated to" in answer.json()["detail"]
    shutil.rmtree(sqlite_live.env["PLINTH_DEFINITIONS"])  # deploy the migrated definitions
    shutil.copytree(other, sqlite_live.env["PLINTH_DEFINITIONS"])
    wait_for(lambda: client.get("/api/contacts").status_code == 200)
    created = client.post("/api/contacts", json={"name": "f", "fax": "1"})
    assert created.status_code == 201 and created.json()["fax"] == "1", created.text


@pytest.mark.redis
@pytest.mark.postgres
def test_plinth_worker_runs_a_workflow_added_by_migrate(tmp_path: Path, redis_url: str) -> None:
    for site in _live_site("postgres", tmp_path, PLINTH_REDIS_URL=redis_url):
        log = open(tmp_path / "worker.log", "w")  # noqa: SIM115 - closed with the process
        worker = subprocess.Popen(
            [sys.executable, "-m", "runtime.cli", "worker"],
            env=site.env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_up(f"{site.url}/admin/", worker, PATIENCE * 3)
            client = site.client(site.a)
            redefine(site, ADDED, grow=True)
            site.plinth("migrate")
            wait_for(functools.partial(field_served, client))
            assert_greeted(client)
        finally:
            stop(worker)
            log.close()
