"""Export: the rows a list returns — any filter, sort and `fields` it accepts, only the fields
the caller can read — as CSV or JSON lines, page by page, so memory stays flat however many
rows there are. What it writes, import reads back (`cells.to_cell`, `sources.read_rows`)."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import orjson

from runtime.access import Principal
from runtime.definitions.model import Entity
from runtime.service import ListQuery, RecordService
from runtime.transfer.cells import to_cell

PAGE_ROWS = 500
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "ndjson": "application/x-ndjson"}


async def export_lines(
    service: RecordService, principal: Principal, entity_name: str, fmt: str, query: ListQuery
) -> AsyncIterator[str]:
    """The export's text, a page at a time: the rows `query` matches (its filter, search,
    sort and fields; not its pages). The first page is read when this is called, so a bad
    filter or sort fails before anything is sent."""
    entity = service.entity(entity_name)
    pages = _pages(service, principal, entity_name, query)
    first = await anext(pages)
    return _render(entity, fmt, first, pages)


async def _render(
    entity: Entity,
    fmt: str,
    first: list[dict[str, Any]],
    pages: AsyncIterator[list[dict[str, Any]]],
) -> AsyncIterator[str]:
    if fmt == "ndjson":
        yield "".join(orjson.dumps(row).decode() + "\n" for row in first)
        async for page in pages:
            yield "".join(orjson.dumps(row).decode() + "\n" for row in page)
        return
    columns = list(_flat(entity, first[0])) if first else []
    yield _csv_lines([columns])
    yield _csv_lines(_cells(entity, columns, first))
    async for page in pages:
        yield _csv_lines(_cells(entity, columns, page))


async def _pages(
    service: RecordService, principal: Principal, entity_name: str, query: ListQuery
) -> AsyncIterator[list[dict[str, Any]]]:
    """The list's pages, each after the last row of the one before (keyset on the sort's
    values and the id): no row skipped or repeated however deep, whatever the sort."""
    after = None
    while True:
        page_query = replace(query, expand=None, limit=PAGE_ROWS, after=after, offset=0)
        page = await service.page(principal, entity_name, page_query)
        yield page.rows
        if page.following is None:
            return
        after = page.following


def _flat(entity: Entity, row: dict[str, Any]) -> dict[str, Any]:
    """A row with the records of references it carries (`fields=contact.name`) spread into
    dotted columns (`contact.name`); a json field's value stays one cell."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        field = entity.field(key)
        if isinstance(value, dict) and field is not None and field.type == "reference":
            for inner, cell in value.items():
                out[f"{key}.{inner}"] = cell
        else:
            out[key] = value
    return out


def _cells(entity: Entity, columns: list[str], rows: list[dict[str, Any]]) -> list[list[str]]:
    out = []
    for row in rows:
        flat = _flat(entity, row)
        out.append([to_cell(entity.field(c), flat.get(c)) for c in columns])
    return out


def _csv_lines(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()
