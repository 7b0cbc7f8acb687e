"""Import, export and restore over HTTP and the CLI, against a real `plinth serve`: the import
job and its report, the streamed export (flat server memory over 100,000 rows on PostgreSQL)
and its round trip through import with no change, restore with If-Match."""

from __future__ import annotations

import asyncio
import csv
import io
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from runtime.database import engine_from_url
from runtime.definitions import load_project
from runtime.identity import accounts
from runtime.schema import build_registry
from tests.conftest import PASSWORD, module_database, plinth, start_server, stop, token_client
from tests.transfer.lab import DEFINITIONS, migrate

ROLES = ("owner", "agent", "viewer")


@dataclass
class Served:
    url: str
    pid: int
    env: dict[str, str]
    workdir: Path
    kind: str
    org: str
    other_org: str

    def client(self, role: str, org: str | None = None) -> httpx.Client:
        return token_client(self.url, f"{role}@{org or self.org}.test", timeout=120)

    def rss(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")


def _people(database_url: str, orgs: list[str]) -> None:
    async def create() -> None:
        registry = build_registry(load_project(DEFINITIONS), engine_from_url(database_url))
        for slug in orgs:
            await accounts.create_organization(registry, slug, slug)
            for role in ROLES:
                email = f"{role}@{slug}.test"
                await accounts.create_user(registry, email, PASSWORD)
                await accounts.grant_role(registry, email, slug, role)

    asyncio.run(create())


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    workdir = tmp_path_factory.mktemp("transfer-http")
    for database_url in module_database(request.param, workdir):
        env = migrate(database_url, workdir)
        org, other = f"a{uuid.uuid4().hex[:6]}", f"b{uuid.uuid4().hex[:6]}"
        _people(database_url, [org, other])
        url, process = start_server(env, workdir)
        try:
            yield Served(url, process.pid, env, workdir, request.param, org, other)
        finally:
            stop(process)


def _wait(client: httpx.Client, url: str) -> dict:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = client.get(url).json()
        if job["status"] != "running":
            return job
        time.sleep(0.1)
    raise AssertionError(f"{url} still running")


def test_import_job_report_and_who_may_see_it(served: Served) -> None:
    body = "code,subject,priority\nH-1,first,2\nH-2,second,9\nH-3,third,1\n"
    with served.client("owner") as owner, served.client("viewer") as viewer:
        refused = viewer.post(
            "/api/tickets/import", content=body, headers={"Content-Type": "text/csv"}
        )
        assert refused.status_code == 403, refused.text
        bad_key = owner.post("/api/tickets/import?key=subject", content=body,
                             headers={"Content-Type": "text/csv"})  # fmt: skip
        assert bad_key.status_code == 400 and "unique" in bad_key.json()["detail"]
        started = owner.post("/api/tickets/import?partial=true", content=body,
                             headers={"Content-Type": "text/csv"})  # fmt: skip
        assert started.status_code == 202, started.text
        job = _wait(owner, started.headers["Location"])
        assert job["status"] == "done"
        report = job["report"]
        assert (report["created"], report["failed"], report["committed"]) == (2, 1, True)
        assert report["errors"] == [
            {"row": 3, "column": "priority", "message": "must be at most 5, got 9"}
        ]
        with served.client("agent") as agent, served.client("owner", served.other_org) as other:
            assert agent.get(started.headers["Location"]).status_code == 404
            assert other.get(started.headers["Location"]).status_code == 404
        wrong = owner.post(
            "/api/tickets/import", content=body, headers={"Content-Type": "text/plain"}
        )
        assert wrong.status_code == 415


@pytest.mark.long  # minutes: its module starts first (tests/parallel.py)
def test_export_streams_flat_and_round_trips_with_no_change(served: Served) -> None:
    rows = 100_000 if served.kind == "postgres" else 5_000
    source = served.workdir / f"seed-{uuid.uuid4().hex[:6]}.csv"
    with source.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["subject", "priority", "amount", "meta"])
        for i in range(rows):
            writer.writerow([f"Exported {i}", i % 5 + 1, f"{i % 100}.25", f'{{"i": {i}}}'])
    done = plinth("import", "Ticket", str(source), "--org", served.org, env=served.env,
                  cwd=served.workdir)  # fmt: skip
    assert f"{rows} rows imported: {rows} created" in done.stdout
    with served.client("owner") as owner:
        before, peak, lines = served.rss(), 0, 0
        received = io.StringIO()
        with owner.stream("GET", "/api/tickets?format=csv&subject__startswith=Exported") as answer:
            assert answer.status_code == 200
            assert answer.headers["content-type"].startswith("text/csv")
            for chunk in answer.iter_text():
                received.write(chunk)
                peak = max(peak, served.rss())
        text = received.getvalue()
        lines = len(text.splitlines())
        assert lines == rows + 1
        assert peak - before < 30 * 1024 * 1024, f"server RSS grew {(peak - before) >> 20} MiB"
        header = text.split("\r\n", 1)[0].split(",")
        assert "secret" not in header and {"id", "subject", "meta"} <= set(header)

        again = owner.post("/api/tickets/import?key=id", content=text.encode(),
                           headers={"Content-Type": "text/csv"})  # fmt: skip
        assert again.status_code == 202, again.text
        report = _wait(owner, again.headers["Location"])["report"]
        assert (report["created"], report["changed"], report["unchanged"]) == (0, 0, rows), report
        sorted_ = owner.get("/api/tickets?format=ndjson&sort=-priority,subject&fields=id,priority"
                            "&subject__startswith=Exported")  # fmt: skip
        ids = [line.split('"id":"')[1][:36] for line in sorted_.text.splitlines()]
        assert len(ids) == len(set(ids)) == rows  # every row once, across keyset pages
        ndjson = owner.get("/api/tickets?format=ndjson&limit=1&subject=Exported 7")
        assert ndjson.status_code == 200 and ndjson.text.count("\n") == 1


def test_restore_over_http(served: Served) -> None:
    with served.client("owner") as owner:
        created = owner.post("/api/tickets", json={"subject": "v1", "priority": 1}).json()
        url = f"/api/tickets/{created['id']}"
        owner.patch(url, json={"subject": "v2"})
        owner.patch(url, json={"subject": "v3", "priority": 4})
        entries = owner.get(f"{url}/timeline").json()["data"]
        first = entries[-1]["id"]
        stale = owner.post(f"{url}/restore", json={"entry": first}, headers={"If-Match": 'W/"1"'})
        assert stale.status_code == 412
        back = owner.post(f"{url}/restore", json={"entry": first}, headers={"If-Match": 'W/"3"'})
        assert back.status_code == 200, back.text
        assert (back.json()["subject"], back.json()["priority"], back.headers["ETag"]) == (
            "v1",
            1,
            'W/"4"',
        )
        assert owner.post(f"{url}/restore", json={}).status_code == 422
        with served.client("owner", served.other_org) as other:
            assert other.post(f"{url}/restore", json={"entry": first}).status_code == 404


def test_a_server_stopping_mid_import_says_so_on_the_job(served: Served) -> None:
    """A job whose server stops (SIGTERM, as a deploy does) ends `failed` with the reason,
    not `running` for ever, and the rows of its file are not there."""
    body = "subject,priority\n" + "".join(f"Stopped {i},3\n" for i in range(300_000))
    url, process = start_server(served.env, served.workdir)
    try:
        with token_client(url, f"owner@{served.org}.test", timeout=120) as owner:
            started = owner.post("/api/tickets/import", content=body,
                                 headers={"Content-Type": "text/csv"})  # fmt: skip
            assert started.status_code == 202, started.text
            time.sleep(1)
            assert owner.get(started.headers["Location"]).json()["status"] == "running"
    finally:
        stop(process)
    # uvicorn raises the SIGTERM again once it has shut down: -15 after a graceful stop,
    # -9 only if `stop` had to kill it
    assert process.returncode == -15
    with served.client("owner") as owner:
        job = owner.get(started.headers["Location"]).json()
        assert job["status"] == "failed", job
        assert "the server stopped during the import" in job["report"]["error"]
        left = owner.get("/api/tickets?subject__startswith=Stopped&count=true&limit=1")
        assert left.json()["meta"]["count"] == 0
