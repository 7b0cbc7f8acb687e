"""docs/guides/auth.md: every ```sh block runs, in order, in one bash script against a real
server, and the status codes its comments promise are the ones printed."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PASSWORD, REPO, Site, serve_site, with_tenants

GUIDE = REPO / "docs" / "guides" / "auth.md"


@pytest.fixture(scope="module")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The guide is about HTTP, not the database: one SQLite server is enough."""
    yield from serve_site("sqlite", tmp_path_factory.mktemp("guide"))


@pytest.fixture
def site(sqlite_server: Site) -> Site:
    return with_tenants(sqlite_server)


def sh_blocks(text: str) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)


def test_the_guide_has_examples_for_every_kind_of_caller() -> None:
    script = "\n".join(sh_blocks(GUIDE.read_text()))
    for route in ("/auth/token", "/auth/token/refresh", "/auth/login", "/auth/logout", "/auth/me"):
        assert f"$BASE{route}" in script, route
    assert "plinth token create" in script and "plinth token revoke" in script
    assert "X-CSRFToken" in script and "X-Organization" in script


def test_the_curl_examples_of_the_auth_guide_work(site: Site, tmp_path: Path) -> None:
    for tool in ("curl", "jq"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is needed to run the guide's examples (.ci/run installs it)")
    blocks = sh_blocks(GUIDE.read_text())
    script = "set -euo pipefail\n" + "\n".join(blocks)
    env = {
        **site.env,
        "BASE": site.url,
        "EMAIL": site.a,
        "PASSWORD": PASSWORD,
        "ORG": site.orgs[site.a],
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    result = subprocess.run(
        ["bash", "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    promised = [
        int(s) for s in re.findall(r"-w '%\{http_code\}\\n'.*?# (\d{3})", script, re.DOTALL)
    ]
    printed = [int(line) for line in result.stdout.splitlines() if re.fullmatch(r"\d{3}", line)]
    assert printed == promised and promised, (printed, promised, result.stdout)
    assert "Printer on fire" in result.stdout or '"subject": "Printer on fire"' in result.stdout
    assert "From a page" in result.stdout
