"""`plinth check` as a process: text and JSON output, exit status, paths relative to cwd."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CASES = Path(__file__).parent / "cases"


def plinth_check(
    *args: str, cwd: Path, definitions: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m runtime.cli check ARGS` in `cwd`; `definitions` sets PLINTH_DEFINITIONS."""
    # a secret key, so the embedded default does not write one beside the case files
    env = {**os.environ, "PYTHONPATH": str(REPO), "PLINTH_SECRET_KEY": "definitions-tests"}
    env.pop("PLINTH_DEFINITIONS", None)
    if definitions is not None:
        env["PLINTH_DEFINITIONS"] = definitions
    return subprocess.run(
        [sys.executable, "-m", "runtime.cli", "check", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_json_lists_every_problem_and_exits_1() -> None:
    case = CASES / "admin_paths"
    result = plinth_check("--format", "json", cwd=case)  # ./definitions by default

    assert result.returncode == 1, result.stderr
    problems = json.loads(result.stdout)
    assert [(p["file"], p["line"], p["col"], p["severity"]) for p in problems] == [
        ("definitions/entities/ticket.yaml", 7, 41, "error"),
        ("definitions/entities/ticket.yaml", 7, 62, "error"),
        ("definitions/entities/ticket.yaml", 8, 23, "error"),
        ("definitions/entities/ticket.yaml", 10, 10, "error"),
        ("definitions/entities/ticket.yaml", 9, 21, "warning"),
    ]
    as_text = [
        f"{p['file']}:{p['line']}:{p['col']}: "
        + ("warning: " if p["severity"] == "warning" else "")
        + p["message"]
        for p in problems
    ]
    assert as_text == (case / "expected.txt").read_text(encoding="utf-8").splitlines()


def test_text_paths_are_relative_to_the_current_directory() -> None:
    case = CASES / "bad_reference"
    result = plinth_check("--definitions", "bad_reference/definitions", cwd=CASES)

    assert result.returncode == 1
    expected = (case / "expected.txt").read_text(encoding="utf-8")
    assert result.stdout == expected.replace("definitions/", "bad_reference/definitions/")


def test_warnings_alone_pass() -> None:
    result = plinth_check("--definitions", "definitions", cwd=CASES / "warnings_only")

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("definitions/entities/ticket.yaml:6:21: warning: ")


def test_the_folder_can_come_from_plinth_definitions() -> None:
    result = plinth_check(cwd=CASES, definitions="bad_reference/definitions")

    assert result.returncode == 1
    assert result.stdout.startswith("bad_reference/definitions/entities/ticket.yaml:3:34: ")
