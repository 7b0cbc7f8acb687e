"""The two comparison servers of bench_http.py, over Plinth's own `helpdesk.ticket` table:

- `raw`: Starlette + an asyncpg pool + orjson, hand-written SQL (tenant filter in the WHERE
  clause, no RLS, no timeline, no outbox): the practical limit;
- `piccolo`: piccolo_api's PiccoloCRUD over a Piccolo table class of the same table.

    python bench/http_apps.py raw|piccolo --dsn postgres://… --port 8101
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

COLUMNS = (
    "id, tenant_id, created_at, updated_at, created_by, updated_by, version, subject, body, "
    "status, priority"
)
LIST = (
    f"SELECT {COLUMNS} FROM helpdesk.ticket WHERE tenant_id = $1 AND status = $2 "
    "AND priority >= $3 ORDER BY created_at DESC, id LIMIT 50"
)
GET = f"SELECT {COLUMNS} FROM helpdesk.ticket WHERE id = $1 AND tenant_id = $2"
CREATE = (
    "INSERT INTO helpdesk.ticket (id, tenant_id, created_at, updated_at, created_by, "
    "updated_by, version, subject, body, status, priority) "
    f"VALUES ($1, $2, $3, $3, $4, $4, 1, $5, $6, $7, $8) RETURNING {COLUMNS}"
)
PATCH = (
    "UPDATE helpdesk.ticket SET priority = $1, version = version + 1, updated_at = now() "
    f"WHERE id = $2 AND tenant_id = $3 RETURNING {COLUMNS}"
)


def _lifespan(startup: Callable[[], Awaitable[None]]) -> Any:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await startup()
        yield

    return lifespan


def _json(content: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(content, default=str), status, media_type="application/json")


def raw_app(dsn: str) -> Starlette:
    pool: asyncpg.Pool | None = None

    async def startup() -> None:
        nonlocal pool
        pool = await asyncpg.create_pool(dsn, min_size=4, max_size=20)

    def tenant(request: Request) -> uuid.UUID:
        return uuid.UUID(request.headers["x-tenant"])

    async def collection(request: Request) -> Response:
        assert pool is not None
        if request.method == "POST":
            body = orjson.loads(await request.body())
            user = uuid.UUID(request.headers["x-user"])
            row = await pool.fetchrow(
                CREATE, uuid.uuid4(), tenant(request), dt.datetime.now(dt.UTC), user,
                body["subject"], body.get("body"), body.get("status", "new"),
                body.get("priority", 3),
            )  # fmt: skip
            return _json(dict(row), 201)
        q = request.query_params
        rows = await pool.fetch(LIST, tenant(request), q["status"], int(q["priority_gte"]))
        return _json({"data": [dict(r) for r in rows]})

    async def item(request: Request) -> Response:
        assert pool is not None
        key = uuid.UUID(request.path_params["id"])
        if request.method == "PATCH":
            body = orjson.loads(await request.body())
            row = await pool.fetchrow(PATCH, int(body["priority"]), key, tenant(request))
        else:
            row = await pool.fetchrow(GET, key, tenant(request))
        if row is None:
            return _json({"detail": "not found"}, 404)
        return _json(dict(row))

    return Starlette(
        routes=[
            Route("/tickets", collection, methods=["GET", "POST"]),
            Route("/tickets/{id}", item, methods=["GET", "PATCH"]),
        ],
        lifespan=_lifespan(startup),
    )


def piccolo_app(dsn: str) -> Starlette:
    from piccolo.columns import UUID, Integer, Text, Timestamptz, Varchar
    from piccolo.engine.postgres import PostgresEngine
    from piccolo.table import Table
    from piccolo_api.crud.endpoints import PiccoloCRUD

    engine = PostgresEngine(config={"dsn": dsn})

    class Ticket(Table, tablename="ticket", schema="helpdesk", db=engine):
        id = UUID(primary_key=True)
        tenant_id = UUID()
        created_at = Timestamptz()
        updated_at = Timestamptz()
        created_by = UUID(null=True)
        updated_by = UUID(null=True)
        version = Integer(default=1)
        subject = Varchar(length=200)
        body = Text(null=True)
        status = Varchar(length=20, default="new")
        priority = Integer(default=3)

    async def startup() -> None:
        await engine.start_connection_pool(min_size=4, max_size=20)

    crud = PiccoloCRUD(Ticket, read_only=False, allow_bulk_delete=False, page_size=50)
    return Starlette(routes=[Mount("/tickets", app=crud)], lifespan=_lifespan(startup))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["raw", "piccolo"])
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    random.seed()
    app = raw_app(args.dsn) if args.kind == "raw" else piccolo_app(args.dsn)
    uvicorn.run(
        app, host="127.0.0.1", port=args.port, http="httptools", loop="uvloop",
        access_log=False, log_level="warning",
    )  # fmt: skip


if __name__ == "__main__":
    main()
