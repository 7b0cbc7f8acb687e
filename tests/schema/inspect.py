"""What a database really holds, read from its catalog: to prove that a refused or failed
migration changed nothing, and that columns have the types the reference table promises."""

from __future__ import annotations

from typing import Any

from runtime.database import engine_from_url, is_postgres

PG_COLUMNS = """
SELECT table_schema, table_name, column_name, data_type, character_maximum_length,
       numeric_precision, numeric_scale, is_nullable, column_default
FROM information_schema.columns
WHERE table_schema NOT IN ('pg_catalog', 'information_schema')
ORDER BY table_schema, table_name, column_name"""
PG_CONSTRAINTS = """
SELECT n.nspname AS schema, c.conname AS name, pg_get_constraintdef(c.oid) AS definition
FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
ORDER BY 1, 2"""
PG_INDEXES = """
SELECT schemaname, indexname, indexdef FROM pg_indexes
WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2"""
SQLITE_SCHEMA = "SELECT type, name, sql FROM sqlite_master ORDER BY type, name"


async def query(database_url: str, sql: str) -> list[dict[str, Any]]:
    engine = engine_from_url(database_url)
    rows = await engine.run_ddl(sql)
    return [dict(r) for r in rows]


async def catalog(database_url: str) -> list[dict[str, Any]]:
    """Every table, column, constraint and index, in a stable order."""
    engine = engine_from_url(database_url)
    if not is_postgres(engine):
        return await query(database_url, SQLITE_SCHEMA)
    return [
        *await query(database_url, PG_COLUMNS),
        *await query(database_url, PG_CONSTRAINTS),
        *await query(database_url, PG_INDEXES),
    ]


async def rows(database_url: str, table: str) -> list[dict[str, Any]]:
    return await query(database_url, f"SELECT * FROM {table} ORDER BY id")


async def columns(database_url: str, schema: str, table: str) -> dict[str, dict[str, Any]]:
    """Column name → what the database says about it."""
    engine = engine_from_url(database_url)
    if is_postgres(engine):
        found = await query(database_url, PG_COLUMNS)
        return {
            r["column_name"]: r
            for r in found
            if r["table_schema"] == schema and r["table_name"] == table
        }
    found = await query(database_url, f"PRAGMA table_info('{table}')")
    return {r["name"]: r for r in found}
