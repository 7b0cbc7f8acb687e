"""`plinth serve --workers N`: N processes on one port, each answering the API with the same
definitions, and an access log only when asked for (`--access-log`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import (
    Site,
    add_tenants,
    free_port,
    prepare_site,
    stop,
    wait_until_up,
)


def test_workers_share_the_port_and_the_access_log_is_off(tmp_path: Path) -> None:
    env = prepare_site(f"sqlite:///{tmp_path / 'plinth.sqlite3'}", tmp_path)
    port = free_port()
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "runtime.cli", "serve", "--port", str(port), "--workers", "2"],
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until_up(f"{url}/admin/", process, timeout=120)
            site = add_tenants(env["PLINTH_DATABASE_URL"], Site(url=url, env=env, workdir=tmp_path))
            with site.client(site.a) as client:
                for _ in range(10):  # connections spread over both processes
                    made = client.post("/api/tickets", json={"subject": "served"})
                    assert made.status_code == 201, made.text
                assert len(client.get("/api/tickets").json()["data"]) == 10
        finally:
            stop(process)
    output = log_path.read_text()
    assert output.count("Started server process") == 2, output
    assert "POST /api/tickets" not in output  # no access log by default
