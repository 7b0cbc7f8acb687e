"""Service create vs a raw single-row INSERT, side by side on PostgreSQL (issue 6).

    uv run python bench/bench_service.py [--rows 2000] [--concurrency 16] [--rounds 3]

Creates a scratch database, migrates tests/service/definitions into it, then alternates
rounds of (a) RecordService.create — validation + row + timeline + outbox, atomically, inside
the tenant wall — and (b) a raw `INSERT INTO lab.sample …` through an asyncpg pool with
asyncpg's defaults, all at the same concurrency. A third column, (c), is the same raw INSERT
on a pool without asyncpg's reset query, as Plinth configures its own pools
(runtime/database.py): the stricter baseline. Prints rows/s per round and the ratios of the
medians.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg

REPO = Path(__file__).resolve().parent.parent
LAB = REPO / "tests" / "service" / "definitions"
TARGET = 0.5  # issue 6: at least half the raw INSERT rate
ADMIN_DSN = os.environ.get("PLINTH_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/test")


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(ADMIN_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _migrate(url: str, workdir: str) -> None:
    env = {
        **os.environ,
        "PLINTH_DATABASE_URL": url,
        "PLINTH_SECRET_KEY": "bench-secret-key-at-least-32-characters",
        "PLINTH_DEFINITIONS": str(LAB),
        "PLINTH_MIGRATIONS": f"{workdir}/migrations",
    }
    subprocess.run(
        [sys.executable, "-m", "runtime.cli", "migrate"],
        env=env,
        cwd=workdir,
        check=True,
        capture_output=True,
    )


async def _pooled(concurrency: int, total: int, work) -> float:
    """Run `work(i)` for i < total with `concurrency` workers; rows per second."""
    counter = iter(range(total))

    async def worker() -> None:
        for i in counter:
            await work(i)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return total / (time.perf_counter() - start)


async def run(url: str, rows: int, concurrency: int, rounds: int) -> float:
    from runtime.access import Principal
    from runtime.database import close_engine, engine_from_url, keep_session, open_engine
    from runtime.definitions import load_project
    from runtime.schema import build_registry
    from runtime.service import RecordService

    engine = engine_from_url(url)
    registry = build_registry(load_project(LAB), engine)
    await open_engine(engine)
    org = registry.organization
    tenant = (await org.insert(org(slug="bench", name="bench")).returning(org.id).run())[0]["id"]
    principal = Principal(tenant_id=tenant, actor="bench", roles=frozenset({"owner"}))
    service = RecordService(registry)
    pool = await asyncpg.create_pool(url, min_size=concurrency, max_size=concurrency)
    lean = await asyncpg.create_pool(
        url, min_size=concurrency, max_size=concurrency, reset=keep_session
    )
    insert = (
        'INSERT INTO "lab"."sample" (id, tenant_id, created_at, updated_at, version, title, '
        "quantity, stage) VALUES ($1, $2, now(), now(), 1, $3, $4, 'draft')"
    )

    async def via_service(i: int) -> None:
        await service.create(principal, "Sample", {"title": f"row {i}", "quantity": i % 1000})

    def via_raw(on: asyncpg.Pool):
        async def insert_one(i: int) -> None:
            async with on.acquire() as conn:
                await conn.execute(insert, uuid.uuid4(), tenant, f"row {i}", i % 1000)

        return insert_one

    paths = {"service": via_service, "raw": via_raw(pool), "raw lean": via_raw(lean)}
    rates: dict[str, list[float]] = {name: [] for name in paths}
    for work in paths.values():  # warm up every path
        await _pooled(concurrency, 200, work)
    for n in range(rounds):
        for name, work in paths.items():
            rates[name].append(await _pooled(concurrency, rows, work))
        print(f"round {n + 1}: " + "   ".join(f"{k} {v[-1]:6.0f} rows/s" for k, v in rates.items()))
    await pool.close()
    await lean.close()
    await close_engine(engine)
    service, raw, raw_lean = (statistics.median(rates[name]) for name in paths)
    print(
        f"\nmedian at concurrency {concurrency}: service {service:.0f} rows/s, raw INSERT "
        f"{raw:.0f} rows/s, raw INSERT without reset query {raw_lean:.0f} rows/s\n"
        f"ratio {service / raw:.2f}x the raw INSERT (target >= {TARGET:.2f}x), "
        f"{service / raw_lean:.2f}x the lean one"
    )
    return service / raw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    name = f"plinth_bench_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    url = f"{ADMIN_DSN.rsplit('/', 1)[0]}/{name}"
    try:
        with tempfile.TemporaryDirectory() as workdir:
            _migrate(url, workdir)
        ratio = asyncio.run(run(url, args.rows, args.concurrency, args.rounds))
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    sys.exit(0 if ratio >= TARGET else 1)


if __name__ == "__main__":
    main()
