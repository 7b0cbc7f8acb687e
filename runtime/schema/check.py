"""`plinth migrate --check`: do the migration files cover the definitions?

The newest file of a history holds the schema the files lead to (its `.json` snapshot), so the
check compares that with the definitions' schema — no database, which is what CI has. A
history is behind when the definitions need a migration nobody has written yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from piccolo.engine.base import Engine

from runtime.database import engine_from_url
from runtime.definitions.model import Project
from runtime.schema import files
from runtime.schema.describe import describe
from runtime.schema.diff import TableChange, diff
from runtime.schema.migration_file import read_snapshot
from runtime.schema.spec import Schema

ENGINES = ("sqlite", "postgres")


def offline_engine(kind: str) -> Engine[Any]:
    """An engine of `kind`, never opened: `describe` needs its kind alone."""
    return engine_from_url("postgres://offline" if kind == "postgres" else "sqlite:///offline")


@dataclass(frozen=True)
class Behind:
    """One history that lacks a migration: the folder and what the definitions change."""

    folder: Path
    changes: list[TableChange]

    def lines(self) -> list[str]:
        why = "it holds no migration file" if self.first else "the definitions changed"
        lines = [f"{self.folder}: a migration is missing ({why}):"]
        for change in self.changes:
            lines.append(f"  {change.label}: {'; '.join(s.text for s in change.steps)}")
        return lines

    @property
    def first(self) -> bool:
        """No file at all yet: every table is new."""
        return all(c.old is None for c in self.changes)


def newest_snapshot(folder: Path) -> Schema | None:
    """The schema the files of `folder` lead to; None when it holds no migration file."""
    found = list(files.on_disk(folder).values())
    return read_snapshot(found[-1]) if found else None


def histories(root: Path, configured: str) -> list[str]:
    """The engines to check: the configured one, and every other that has files under `root`
    (a project that keeps both histories checks both in one run)."""
    return [
        kind for kind in ENGINES if kind == configured or any((root / kind).glob("plinth_*.py"))
    ]


def check(project: Project, root: Path, engines: list[str]) -> list[Behind]:
    """The histories under `root` that the definitions have moved past."""
    behind = []
    for kind in engines:
        target = describe(project, offline_engine(kind))
        folder = root / kind
        written = newest_snapshot(folder) if folder.is_dir() else None
        changes = diff(written or Schema.empty(kind), target)
        if changes:
            behind.append(Behind(folder, changes))
    return behind


def report(behind: list[Behind]) -> str:
    """The error of a failed check: each history, each entity and what it lacks."""
    lines = [line for history in behind for line in history.lines()]
    lines.append(
        "Run `plinth migrate` against a database of that kind and commit the files it writes."
    )
    return "\n".join(lines)
