"""What piccolo-api would pass on to the database unchecked from an admin list's query string,
bounded first so that it answers 400 instead of failing in the driver (a 500): a filter value
past its column's integer range, filter values its pydantic model refuses, a page whose offset
no database takes, and (piccolo's ValueError) a column name that does not exist."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pydantic
from piccolo.columns import BigInt, Column, Integer, SmallInt
from piccolo.table import Table
from piccolo_api.crud.endpoints import ParamException, Params
from piccolo_api.crud.exceptions import MalformedQuery

from runtime.limits import limits

_INT_BITS = {SmallInt: 16, Integer: 32, BigInt: 64}  # SmallInt, BigInt: subclasses of Integer


def _bits(column: Any) -> int | None:
    for kind in (SmallInt, BigInt, Integer):
        if isinstance(column, kind):
            return _INT_BITS[kind]
    return None


def check_filters(table: type[Table], model: type[pydantic.BaseModel], params: Params) -> None:
    """MalformedQuery (400) for a filter value its column cannot hold."""
    if not params.fields:
        return
    try:
        values = model(**params.fields).model_dump()
    except pydantic.ValidationError as error:
        names = ", ".join(str(e["loc"][0]) for e in error.errors() if e.get("loc"))
        raise MalformedQuery(f"not a value these fields can hold: {names}") from None
    for name, value in values.items():
        bits = _bits(getattr(table, name, None))
        given = value if isinstance(value, list) else [value]
        if bits and any(isinstance(v, int) and abs(v) >= 2 ** (bits - 1) for v in given):
            raise MalformedQuery(f"{name}: out of range for a {bits}-bit integer")


def check_page(params: Params, default_size: int) -> None:
    """ParamException (400) for a page whose offset is past what the API's cursors may name."""
    size = params.page_size or default_size
    if params.page < 1 or size < 1:
        raise ParamException("__page and __page_size start at 1")
    if (params.page - 1) * size > limits().cursor_offset:
        raise ParamException(f"__page: past row {limits().cursor_offset}")


def checked_column(lookup: Callable[[str], Column], column_name: str) -> Column:
    """piccolo's column lookup, with its ValueError for an unknown name as a 400."""
    try:
        return lookup(column_name)
    except ValueError as error:
        raise ParamException(str(error)) from None
