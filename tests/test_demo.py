"""`plinth demo` on a fresh checkout: the embedded default comes up with a working login."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import DEFINITIONS, free_port, stop, wait_until_up


def test_demo_serves_the_admin_and_its_printed_login_gets_a_token(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLINTH_")}
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "runtime.cli",
            "demo",
            "--port",
            str(port),
            "--definitions",
            str(DEFINITIONS),
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        login = None
        deadline = time.monotonic() + 90
        assert process.stdout is not None
        while login is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            assert line or process.poll() is None, "plinth demo exited early"
            if line.startswith("{"):
                login = json.loads(line)
        assert login is not None, "plinth demo printed no login"
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/admin/", process)
        admin = httpx.get(login["admin"])
        assert admin.status_code == 200 and "<html" in admin.text.lower()
        token = httpx.post(
            f"{base}/auth/token", json={"email": login["email"], "password": login["password"]}
        )
        assert token.status_code == 200, token.text
        tickets = httpx.get(
            f"{base}/api/tickets",
            headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        ).json()["data"]
        assert len(tickets) == 3
        assert (tmp_path / "plinth.sqlite3").exists()
        assert list((tmp_path / "migrations" / "sqlite").glob("plinth_*.py"))
    finally:
        stop(process)
