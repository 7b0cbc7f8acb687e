"""A deep page against the first one, on PostgreSQL (issue 16): keyset pages cost the same.

    uv run python bench/bench_pages.py [--rows 300000] [--page 5000] [--limit 60] [--runs 5]

Creates a scratch database, migrates tests/service/definitions into it, writes `--rows`
samples of one organization straight into lab.sample (COPY), then times, through the
RecordService and inside the tenant wall, page 1 and page `--page` of the default order
(newest first). The deep page starts after the key values of the row before it, read once
with an OFFSET outside the timing: what a client holding that page's cursor asks for. Prints
the median of `--runs` timings of each and their ratio (issue 16: at most 1.5).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import tempfile
import time
import uuid

import asyncpg
from bench_service import ADMIN_DSN, LAB, _admin, _migrate  # the same scratch database

TARGET = 1.5


async def _timed(runs: int, work) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        await work()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


async def run(url: str, rows: int, page: int, limit: int, runs: int) -> float:
    from runtime.access import Principal
    from runtime.database import close_engine, engine_from_url, open_engine
    from runtime.definitions import load_project
    from runtime.schema import build_registry
    from runtime.service import ListQuery, RecordService

    engine = engine_from_url(url)
    registry = build_registry(load_project(LAB), engine)
    await open_engine(engine)
    org = registry.organization
    tenant = (await org.insert(org(slug="bench", name="bench")).returning(org.id).run())[0]["id"]
    principal = Principal(tenant_id=tenant, actor="bench", roles=frozenset({"owner"}))
    service = RecordService(registry)
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    conn = await asyncpg.connect(url)
    try:
        records = [
            (uuid.uuid4(), tenant, start + dt.timedelta(seconds=i), start, 1, f"row {i}", "draft")
            for i in range(rows)
        ]
        columns = ["id", "tenant_id", "created_at", "updated_at", "version", "title", "stage"]
        await conn.copy_records_to_table(
            "sample", schema_name="lab", records=records, columns=columns
        )
        await conn.execute("ANALYZE lab.sample")
        before = await conn.fetchrow(
            "SELECT created_at, id FROM lab.sample ORDER BY created_at DESC, id OFFSET $1 LIMIT 1",
            (page - 1) * limit - 1,
        )
    finally:
        await conn.close()
    at = before["created_at"].astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    after = ["-created_at,id", [at, str(before["id"])]]

    async def first() -> None:
        await service.page(principal, "Sample", ListQuery(limit=limit))

    async def deep() -> None:
        await service.page(principal, "Sample", ListQuery(limit=limit, after=after))

    await first(), await deep()  # warm up
    one, far = await _timed(runs, first), await _timed(runs, deep)
    await close_engine(engine)
    ratio = far / one
    print(
        f"{rows} rows, {limit} a page: page 1 {one * 1000:.1f} ms, page {page} "
        f"{far * 1000:.1f} ms (medians of {runs}); ratio {ratio:.2f} (target <= {TARGET})"
    )
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--page", type=int, default=5000)
    parser.add_argument("--limit", type=int, default=60)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if (args.page - 1) * args.limit >= args.rows:
        parser.error("--page is past the last page of --rows")
    name = f"plinth_bench_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    url = f"{ADMIN_DSN.rsplit('/', 1)[0]}/{name}"
    try:
        with tempfile.TemporaryDirectory() as workdir:
            _migrate(url, workdir)
        ratio = asyncio.run(run(url, args.rows, args.page, args.limit, args.runs))
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    raise SystemExit(0 if ratio <= TARGET else 1)


if __name__ == "__main__":
    main()
