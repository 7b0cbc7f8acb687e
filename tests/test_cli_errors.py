"""The `plinth` command's rough edges (issue 16): a missing secret key is asked for only by
the commands that sign (one line, exit 2), a malformed setting is one line and exit 2, and a
reader that closes the pipe early (`plinth workflow runs | head`) gets no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, plinth, plinth_env


def _without_key(database_url: str, workdir: Path) -> dict[str, str]:
    env = plinth_env(database_url, workdir)
    del env["PLINTH_SECRET_KEY"]
    return env


def _one_error_line(result: subprocess.CompletedProcess[str], text: str) -> None:
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == f"error: {text}", result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_migrate_and_plan_need_no_secret_key(postgres_url: str, tmp_path: Path) -> None:
    env = _without_key(postgres_url, tmp_path)
    assert "database is up to date" in plinth("migrate", env=env, cwd=tmp_path).stdout
    assert "up to date" in plinth("plan", env=env, cwd=tmp_path).stdout
    assert plinth("check", env=env, cwd=tmp_path).returncode == 0


@pytest.mark.parametrize("command", [["serve", "--port", "1"], ["demo", "--port", "1"]])
def test_what_signs_asks_for_the_key_in_one_line(command: list[str], tmp_path: Path) -> None:
    env = _without_key("postgres://postgres@127.0.0.1:5432/no_such_database", tmp_path)
    result = plinth(*command, env=env, cwd=tmp_path, check=False)
    _one_error_line(result, "PLINTH_SECRET_KEY is required outside the embedded default")
    assert not list((tmp_path / "migrations").glob("*/plinth_*")), "demo migrated before failing"


@pytest.mark.parametrize("command", [["migrate"], ["plan"], ["serve"], ["workflow", "runs"]])
def test_a_malformed_setting_is_one_line_and_exit_2(command: list[str], tmp_path: Path) -> None:
    env = plinth_env("mysql://db/x", tmp_path)
    result = plinth(*command, env=env, cwd=tmp_path, check=False)
    _one_error_line(
        result, "PLINTH_DATABASE_URL='mysql://db/x': expected sqlite:///FILE or postgres://..."
    )


@pytest.mark.parametrize("command", [["check", "--format", "json"], ["plan"]])
def test_a_pipe_closed_early_is_quiet(command: list[str], tmp_path: Path) -> None:
    """The reader is gone before `plinth` writes a byte (what `| head` does, deterministically)."""
    env = plinth_env(f"sqlite:///{tmp_path / 'plinth.sqlite3'}", tmp_path)
    read, write = os.pipe()
    os.close(read)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "runtime.cli", *command],
            env=env,
            cwd=REPO,
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write)
    assert result.returncode == 141, result.stderr  # as a shell reports SIGPIPE
    assert result.stderr == ""


UNREACHABLE = [
    (
        "postgres://plinth:hunter2@127.0.0.1:1/plinth",  # nothing listens on port 1
        "error: cannot open the database postgres://127.0.0.1:1/plinth: ",
    ),
    (
        "sqlite:////nonexistent-plinth-folder/plinth.sqlite3",
        "error: cannot open the database /nonexistent-plinth-folder/plinth.sqlite3: the folder "
        "/nonexistent-plinth-folder does not exist",
    ),
]


@pytest.mark.parametrize(("url", "message"), UNREACHABLE)
@pytest.mark.parametrize("command", [["migrate"], ["serve", "--port", "1"], ["workflow", "runs"]])
def test_an_unreachable_database_is_one_line_and_exit_2(
    command: list[str], url: str, message: str, tmp_path: Path
) -> None:
    result = plinth(*command, env=plinth_env(url, tmp_path), cwd=tmp_path, check=False)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), result.stderr
    assert "hunter2" not in result.stderr  # the password stays out of the message
