"""Migrations as code (issue 16): the repository's own migrations are committed and cover its
definitions (the CI gate, `plinth migrate --check`), a clone applies them, a deploy
(`--apply-only`) writes none, and `plinth plan --format json` diffs cleanly in review."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.conftest import DEFINITIONS, REPO, plinth, plinth_env

COMMITTED = REPO / "migrations"
NICKNAME = "  nickname: {type: string, max_length: 40}\n"


def _bare_env(**extra: str) -> dict[str, str]:
    """No PLINTH_* setting but `extra`: the defaults, and no secret key (none is needed)."""
    env = plinth_env("sqlite:///unused", REPO)
    env = {k: v for k, v in env.items() if not k.startswith("PLINTH_")}
    return env | extra


def _project(tmp_path: Path, *, changed: bool = False) -> Path:
    """A copy of the repository's definitions and committed migrations (`changed`: Contact
    gains a field no migration was written for)."""
    shutil.copytree(DEFINITIONS, tmp_path / "definitions")
    shutil.copytree(
        COMMITTED, tmp_path / "migrations", ignore=shutil.ignore_patterns("__pycache__")
    )
    if changed:
        contact = tmp_path / "definitions" / "entities" / "contact.yaml"
        contact.write_text(contact.read_text().replace("fields:\n", "fields:\n" + NICKNAME, 1))
    return tmp_path


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("plinth_*"))


def test_the_migrations_are_committed_for_both_databases() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "migrations"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    for kind in ("sqlite", "postgres"):
        modules = [p for p in tracked if p.startswith(f"migrations/{kind}/plinth_")]
        assert any(p.endswith(".py") for p in modules), f"no {kind} migration is committed"
        for module in (p for p in modules if p.endswith(".py")):  # each with its snapshot
            assert module.removesuffix(".py") + ".json" in tracked, module
    ignored = subprocess.run(
        ["git", "check-ignore", "migrations/sqlite/x.py", "migrations/postgres/x.json"],
        cwd=REPO,
        capture_output=True,
    )
    assert ignored.returncode == 1, ".gitignore must not ignore migration files"


def test_the_committed_migrations_cover_the_definitions() -> None:
    """The CI gate on the repository itself: from its root, with no setting and no key."""
    result = plinth("migrate", "--check", env=_bare_env(), cwd=REPO, check=False)
    assert result.returncode == 0, result.stderr
    assert "up to date with the definitions (sqlite, postgres)" in result.stdout
    assert not (REPO / "plinth-check.sqlite3").exists()


def test_check_names_what_is_missing_and_opens_no_database(tmp_path: Path) -> None:
    project = _project(tmp_path, changed=True)
    result = plinth("migrate", "--check", env=_bare_env(), cwd=project, check=False)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0] == "error: migrations/sqlite: a migration is missing (the definitions changed):"
    assert "  Contact: add field nickname: string(40)" in lines
    assert "migrations/postgres: a migration is missing (the definitions changed):" in lines
    assert "Traceback" not in result.stderr
    assert not list(project.glob("*.sqlite3*")), "--check opened a database"
    docs = (REPO / "docs" / "how-to" / "schema-changes.md").read_text(encoding="utf-8")
    shown = docs.split("entity and step that is missing:\n\n```text\n", 1)[1].split("```")[0]
    assert result.stderr == shown, "docs/how-to/schema-changes.md shows another message"


def test_check_fails_on_an_empty_history(tmp_path: Path) -> None:
    shutil.copytree(DEFINITIONS, tmp_path / "definitions")
    result = plinth("migrate", "--check", env=_bare_env(), cwd=tmp_path, check=False)
    assert result.returncode == 1
    assert "migrations/sqlite: a migration is missing (it holds no migration file)" in (
        result.stderr
    )


def test_git_clone_then_migrate_applies_the_committed_migrations(tmp_path: Path) -> None:
    """What a new developer does: clone (the committed tree only), `plinth migrate` with the
    defaults; then change a definition without writing its migration: CI's check fails."""
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{REPO}", str(clone)],
        check=True,
        capture_output=True,
    )
    env = _bare_env(PLINTH_DATABASE_URL=f"sqlite:///{tmp_path / 'plinth.sqlite3'}")
    result = plinth("migrate", env=env, cwd=clone)
    [module] = (clone / "migrations" / "sqlite").glob("plinth_*.py")
    assert f"applied {_id(module)}" in result.stdout and "wrote" not in result.stdout
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=clone, capture_output=True, text=True, check=True
    )
    assert status.stdout == "", "migrate wrote into the clone"
    contact = clone / "definitions" / "entities" / "contact.yaml"
    contact.write_text(contact.read_text().replace("fields:\n", "fields:\n" + NICKNAME, 1))
    failed = plinth("migrate", "--check", env=env, cwd=clone, check=False)
    assert failed.returncode == 1 and "Contact: add field nickname" in failed.stderr


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_a_clone_applies_the_committed_migrations_and_writes_none(
    tmp_path: Path, database: str, request: pytest.FixtureRequest
) -> None:
    project = _project(tmp_path)
    url = (
        request.getfixturevalue("postgres_url")
        if database == "postgres"
        else f"sqlite:///{tmp_path / 'plinth.sqlite3'}"
    )
    env = plinth_env(url, project, PLINTH_DEFINITIONS=str(project / "definitions"))
    before = _files(project / "migrations" / database)
    result = plinth("migrate", "--apply-only", env=env, cwd=project)
    [committed] = [name for name in before if name.endswith(".py")]
    assert f"applied {_id(project / 'migrations' / database / committed)}" in result.stdout
    assert "wrote" not in result.stdout
    assert _files(project / "migrations" / database) == before
    plan = plinth("plan", env=env, cwd=project).stdout
    assert plan.strip() == "nothing to change: the database is up to date"


def _id(module: Path) -> str:
    return next(
        line.split("'")[1] for line in module.read_text().splitlines() if line.startswith("ID = ")
    )


def test_a_deploy_refuses_definitions_no_committed_migration_covers(tmp_path: Path) -> None:
    project = _project(tmp_path, changed=True)
    database = tmp_path / "plinth.sqlite3"
    env = plinth_env(f"sqlite:///{database}", project)
    env["PLINTH_DEFINITIONS"] = str(project / "definitions")
    before = _files(project / "migrations" / "sqlite")
    refused = plinth("migrate", "--apply-only", env=env, cwd=project, check=False)
    assert refused.returncode == 1
    assert "Contact: add field nickname: string(40)" in refused.stderr
    assert "Nothing was changed." in refused.stderr
    assert _files(project / "migrations" / "sqlite") == before
    if database.exists():
        with sqlite3.connect(database) as db:
            assert not db.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()


def test_a_database_migrated_by_its_own_history_adopts_the_committed_one(tmp_path: Path) -> None:
    """A deployment of the earlier image wrote and applied its own migration (in a volume);
    the committed file leads to the same schema, so it is recorded, not run again."""
    project = _project(tmp_path)
    url = f"sqlite:///{tmp_path / 'plinth.sqlite3'}"
    own = plinth_env(url, project, PLINTH_MIGRATIONS=str(tmp_path / "volume"))
    own["PLINTH_DEFINITIONS"] = str(project / "definitions")
    assert "wrote" in plinth("migrate", env=own, cwd=project).stdout
    env = own | {"PLINTH_MIGRATIONS": str(project / "migrations")}
    plinth("migrate", "--apply-only", env=env, cwd=project)
    [module] = (project / "migrations" / "sqlite").glob("plinth_*.py")
    with sqlite3.connect(tmp_path / "plinth.sqlite3") as db:
        ran = {name for (name,) in db.execute("SELECT name FROM migration")}
    assert _id(module) in ran
    assert plinth("plan", env=env, cwd=project).stdout.strip() == (
        "nothing to change: the database is up to date"
    )


def test_plan_json_is_stable_to_diff(tmp_path: Path) -> None:
    project = _project(tmp_path, changed=True)
    env = plinth_env(f"sqlite:///{tmp_path / 'plinth.sqlite3'}", project)
    env["PLINTH_DEFINITIONS"] = str(project / "definitions")
    first = plinth("plan", "--format", "json", env=env, cwd=project).stdout
    second = plinth("plan", "--format", "json", env=env, cwd=project).stdout
    assert first == second
    data = json.loads(first)
    assert first.strip() == json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True)
    assert [group["entity"] for group in data["changes"]][-2:] == ["Contact", "Ticket"]
    assert data["pending"] == [
        _id(p) for p in (project / "migrations/sqlite").glob("*.py") if p.name != "__init__.py"
    ]
