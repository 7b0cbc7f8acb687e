"""A migration that fails half-way changes nothing: its first statements succeed, a unique
index over duplicate values fails, and the schema, the data, the applied snapshot and the
migrations folder are exactly as before; the error names the entity, field and count."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.schema.history import History
from tests.schema.inspect import catalog, query

BEFORE = """\
entity: Customer
module: crm
fields:
  name: {type: string, required: true}
  code: {type: string, max_length: 20}
"""
AFTER = """\
entity: Customer
module: crm
fields:
  name: {type: string, required: true}
  code: {type: string, max_length: 20, unique: true}
  note: {type: text}
"""


def _table(url: str) -> str:
    return "crm.customer" if url.startswith("postgres") else "customer"


@pytest.mark.long  # minutes: its module starts first (tests/parallel.py)
async def test_a_failing_migration_leaves_schema_and_data_as_before(
    database_url: str, tmp_path: Path
) -> None:
    h = History(database_url, tmp_path)
    h.write_files({"customer.yaml": BEFORE})
    h.run("migrate")
    async with h.service() as (service, principal):
        for name, code in [("Ada", "A-1"), ("Grace", "A-1"), ("Linus", "B-2")]:
            await service.create(principal, "Customer", {"name": name, "code": code})
    h.write_files({"customer.yaml": AFTER})
    plan = h.run("plan").stdout
    assert "+ add field note: text" in plan
    assert (
        "+ add unique index customer_code_unique (tenant_id, code)  [narrowing: 2 rows share "
        "their value with another row of their organization]"
    ) in plan
    schema = await catalog(database_url)
    data = await query(database_url, f"SELECT * FROM {_table(database_url)} ORDER BY id")
    files = h.files()

    dry = h.run("migrate", "--dry-run", "--allow-destructive").stdout  # prints, changes nothing
    assert 'ADD COLUMN "note" TEXT' in dry or '"note" TEXT DEFAULT null' in dry
    assert 'CREATE UNIQUE INDEX "customer_code_unique"' in dry
    assert await catalog(database_url) == schema and h.files() == files

    refused = h.run("migrate", check=False)  # narrowing with an impact: refused
    assert refused.returncode == 1
    assert "Customer: add unique index customer_code_unique" in refused.stderr

    failed = h.run("migrate", "--allow-destructive", check=False)  # tried, and rolled back
    message = " ".join(failed.stderr.split())
    assert failed.returncode == 1, failed.stdout
    assert "migration failed at Customer" in message
    assert (
        "Customer.code: add unique index customer_code_unique (tenant_id, code) — 2 rows share "
        "their value with another row of their organization"
    ) in message
    assert "Nothing was changed" in message

    assert await catalog(database_url) == schema  # the added column is gone with the rest
    assert await query(database_url, f"SELECT * FROM {_table(database_url)} ORDER BY id") == data
    assert h.files() == files
    assert h.run("plan").stdout == plan


async def test_a_value_that_does_not_convert_fails_the_type_change(
    database_url: str, tmp_path: Path
) -> None:
    """PostgreSQL's cast refuses 'abc' as an integer; SQLite would keep it, so Plinth reads the
    converted column back and fails the same way."""
    h = History(database_url, tmp_path)
    h.write_files({"customer.yaml": BEFORE})
    h.run("migrate")
    async with h.service() as (service, principal):
        for code in ("12", "abc"):
            await service.create(principal, "Customer", {"name": "x", "code": code})
    h.write_files(
        {"customer.yaml": BEFORE.replace("{type: string, max_length: 20}", "{type: integer}")}
    )
    schema = await catalog(database_url)
    failed = h.run("migrate", "--allow-destructive", check=False)
    message = " ".join(failed.stderr.split())
    assert failed.returncode == 1
    assert (
        "Customer.code: change type of code: string → integer (values are converted) — 2 rows"
        in message
    )
    assert await catalog(database_url) == schema
