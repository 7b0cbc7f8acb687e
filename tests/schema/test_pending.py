"""Migration files written on one database (development) and applied on another
(production): pending files run first, oldest first, each checked against the data where it
runs; nothing new is written when the files already cover the definitions."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.schema.history import History

V1 = """\
entity: Customer
fields:
  name: {type: string, required: true}
  fax:  {type: string}
"""
V2 = """\
entity: Customer
fields:
  name: {type: string, required: true}
"""


def _pair(tmp_path: Path) -> tuple[History, History]:
    """Two SQLite databases sharing one project folder (definitions and migrations)."""
    dev = History(f"sqlite:///{tmp_path / 'dev.sqlite3'}", tmp_path)
    prod = History(f"sqlite:///{tmp_path / 'prod.sqlite3'}", tmp_path)
    return dev, prod


@pytest.mark.long  # minutes: its module starts first (tests/parallel.py)
async def test_pending_files_are_applied_and_checked_where_they_run(tmp_path: Path) -> None:
    dev, prod = _pair(tmp_path)
    dev.write_files({"customer.yaml": V1})
    dev.run("migrate")
    [first] = dev.files()
    applied = prod.run("migrate").stdout  # production runs the committed file, writes none
    assert "applied" in applied and "wrote" not in applied
    assert prod.files() == [first]
    async with prod.service() as (service, principal):
        await service.create(principal, "Customer", {"name": "Ada", "fax": "555-0100"})

    dev.write_files({"customer.yaml": V2})
    dev.run("migrate", "--allow-destructive")  # a drop is refused even when nothing is lost
    assert len(dev.files()) == 2

    plan = prod.run("plan").stdout
    assert "1 migration file(s) written but not applied yet" in plan
    assert "- drop field fax  [destructive: 1 row holds a value]" in plan
    refused = prod.run("migrate", check=False)
    assert refused.returncode == 1
    assert "Customer: drop field fax — 1 row holds a value" in " ".join(refused.stderr.split())
    assert "1 migration file(s) written but not applied yet" in prod.run("plan").stdout

    prod.run("migrate", "--allow-destructive")
    assert len(prod.files()) == 2  # the committed file ran; no new one
    assert prod.run("plan").stdout.strip() == "nothing to change: the database is up to date"
    async with prod.service() as (service, principal):
        [row] = await service.list(principal, "Customer")
        assert row["name"] == "Ada" and "fax" not in row
