"""docs/reference/api.md: every ```sh block runs, in order, in one bash script against a real
server with the demo definitions; the statuses its comments promise are the ones answered and
each `# → text` is what the line before it printed. Its tables are held to the code's: the
operators per field type (runtime/fields), the reserved list parameters (runtime/api) and the
problem statuses the OpenAPI document declares."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.api.openapi_common import STATUS_MEANING
from runtime.api.records import RESERVED_PARAMS
from runtime.fields import TYPES
from runtime.filters import OPERATORS
from tests.conftest import PASSWORD, REPO, Site, serve_site, with_tenants

REFERENCE = REPO / "docs" / "reference" / "api.md"


@pytest.fixture(scope="module")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The reference is about HTTP, not the database: one SQLite server is enough."""
    yield from serve_site("sqlite", tmp_path_factory.mktemp("api-reference"))


def sh_blocks(text: str) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)


def table(text: str, heading: str) -> dict[str, str]:
    """The first two columns of the table whose header row starts with `| heading |`."""
    rows = text.split(f"| {heading} |", 1)[1].split("\n\n", 1)[0].splitlines()[2:]
    return {r.split("|")[1].strip(): r.split("|")[2].strip() for r in rows if r.startswith("|")}


def test_the_examples_of_the_api_reference_run(sqlite_server: Site, tmp_path: Path) -> None:
    for tool in ("curl", "jq"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is needed to run the reference's examples (.ci/run installs it)")
    site = with_tenants(sqlite_server)
    script = "set -euo pipefail\n" + "\n".join(sh_blocks(REFERENCE.read_text()))
    env = {
        **site.env, "BASE": site.url, "EMAIL": site.a, "PASSWORD": PASSWORD,
        "ORG": site.orgs[site.a],
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }  # fmt: skip
    result = subprocess.run(
        ["bash", "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    printed = result.stdout.splitlines()
    promised = [
        int(s) for s in re.findall(r"-w '%\{http_code\}\\n'.*?# (\d{3})", script, re.DOTALL)
    ]
    statuses = [int(line) for line in printed if re.fullmatch(r"\d{3}", line)]
    assert statuses == promised and promised, (statuses, promised, result.stdout)
    expected = re.findall(r"^# → (.*)$", script, flags=re.MULTILINE)
    shown = [line for line in printed if not re.fullmatch(r"\d{3}", line)]
    assert len(shown) == len(expected), (shown, expected)
    for line, text in zip(shown, expected, strict=True):
        assert line.startswith(text), (line, text)


def test_the_operator_table_is_the_field_types() -> None:
    documented = table(REFERENCE.read_text(), "Field type")
    by_type = {
        kind.strip(): ops.strip("`").split() for kinds, ops in documented.items()
        for kind in kinds.split(",")
    }  # fmt: skip
    assert set(by_type) == set(TYPES)
    for name, row in TYPES.items():
        assert by_type[name] == [op for op in OPERATORS if op in row.operators], name


def test_the_reserved_parameters_and_the_statuses_are_the_codes() -> None:
    text = REFERENCE.read_text()
    assert {name.strip("`") for name in table(text, "Parameter")} == RESERVED_PARAMS
    assert {int(status) for status in table(text, "Status")} == set(STATUS_MEANING)
    assert "SPEC" not in text and "../shared" not in text  # the docs stand on their own
