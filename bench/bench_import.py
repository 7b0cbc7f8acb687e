"""Import vs a raw COPY of the same rows, side by side on PostgreSQL (issue 19).

    uv run python bench/bench_import.py [--rows 10000] [--rounds 3]

Creates a scratch database, migrates tests/transfer/definitions into it, makes a CSV of
`--rows` tickets, then alternates rounds of (a) RecordService.import_rows of the file — every
row parsed, validated, authorized by the owner's rules, written with its timeline entry and
outbox event, all in one transaction — and (b) asyncpg's COPY of the same rows, already typed,
straight into the ticket table (no timeline, no outbox, no checks: the floor). Each round
imports into a fresh organization. Prints rows/s per round and the ratio of the medians.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import io
import statistics
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.bench_service import ADMIN_DSN, _admin

REPO = Path(__file__).resolve().parent.parent
DEFINITIONS = REPO / "tests" / "transfer" / "definitions"
TARGET = 0.2  # issue 19: at least a fifth of COPY, with timeline and outbox
COLUMNS = ("code", "subject", "priority", "done", "amount", "due_on")


def _rows(n: int) -> list[tuple[str, str, int, bool, Decimal, dt.date]]:
    day = dt.date(2026, 12, 31)
    return [(f"T-{i}", f"Ticket {i}", i % 5 + 1, i % 2 == 0, Decimal(f"{i % 100}.25"), day)
            for i in range(n)]  # fmt: skip


def _csv(rows: list[tuple]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    writer.writerows(
        [(c, s, p, "true" if d else "false", a, u.isoformat()) for c, s, p, d, a, u in rows]
    )
    return out.getvalue()


def _migrate(url: str, workdir: str) -> None:
    import os
    import subprocess

    env = {**os.environ, "PLINTH_DATABASE_URL": url, "PLINTH_DEFINITIONS": str(DEFINITIONS),
           "PLINTH_SECRET_KEY": "bench-secret-key-at-least-32-characters",
           "PLINTH_MIGRATIONS": f"{workdir}/migrations"}  # fmt: skip
    subprocess.run([sys.executable, "-m", "runtime.cli", "migrate"], env=env, cwd=workdir,
                   check=True, capture_output=True)  # fmt: skip


async def run(url: str, n: int, rounds: int) -> float:
    from runtime.access import Principal
    from runtime.database import close_engine, engine_from_url, open_engine
    from runtime.definitions import load_project
    from runtime.schema import build_registry
    from runtime.service import RecordService
    from runtime.service.imports import ImportOptions
    from runtime.transfer.sources import read_rows

    engine = engine_from_url(url)
    registry = build_registry(load_project(DEFINITIONS), engine)
    await open_engine(engine)
    service = RecordService(registry)
    entity = registry.project.entities["Ticket"]
    rows = _rows(n)
    text = _csv(rows)
    conn = await asyncpg.connect(url)
    schema = registry.table(entity)._meta.schema or "public"
    table = registry.table(entity)._meta.tablename

    async def organization() -> uuid.UUID:
        org = registry.organization
        slug = f"b{uuid.uuid4().hex[:8]}"
        return (await org.insert(org(slug=slug, name=slug)).returning(org.id).run())[0]["id"]

    async def via_import() -> float:
        principal = Principal.system(await organization(), "bench")
        start = time.perf_counter()
        report = await service.import_rows(
            principal, "Ticket", read_rows(registry.project, entity, text.splitlines(True), "csv"),
            ImportOptions(),
        )  # fmt: skip
        assert report.committed and report.created == n, report
        return n / (time.perf_counter() - start)

    async def via_copy() -> float:
        tenant = await organization()
        now = dt.datetime.now(dt.UTC)
        records = [(uuid.uuid4(), tenant, now, now, 1, "new", *row) for row in rows]
        start = time.perf_counter()
        await conn.copy_records_to_table(
            table, schema_name=schema, records=records,
            columns=("id", "tenant_id", "created_at", "updated_at", "version", "status", *COLUMNS),
        )  # fmt: skip
        return n / (time.perf_counter() - start)

    rates: dict[str, list[float]] = {"import": [], "COPY": []}
    for n_round in range(rounds):
        rates["import"].append(await via_import())
        rates["COPY"].append(await via_copy())
        print(
            f"round {n_round + 1}: "
            + "   ".join(f"{k} {v[-1]:8.0f} rows/s" for k, v in rates.items())
        )
    await conn.close()
    await close_engine(engine)
    imported, copied = statistics.median(rates["import"]), statistics.median(rates["COPY"])
    ratio = imported / copied
    print(f"\nmedian over {rounds} rounds of {n} rows: import {imported:.0f} rows/s, COPY "
          f"{copied:.0f} rows/s\nratio {ratio:.2f}x COPY (target >= {TARGET:.2f}x)")  # fmt: skip
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    name = f"plinth_bench_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    url = f"{ADMIN_DSN.rsplit('/', 1)[0]}/{name}"
    try:
        with tempfile.TemporaryDirectory() as workdir:
            _migrate(url, workdir)
        ratio = asyncio.run(run(url, args.rows, args.rounds))
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    sys.exit(0 if ratio >= TARGET else 1)


if __name__ == "__main__":
    main()
