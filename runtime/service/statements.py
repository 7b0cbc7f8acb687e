"""Compiled statements, kept by what they depend on.

Building a Piccolo query and compiling it to SQL costs more than PostgreSQL takes to run it
for one row (a profile of `GET /api/<slug>/{id}` under load: ~40% of the request). A query's
SQL and arguments are a pure function of the entity, the caller (tenant, roles, variables,
`$today`) and the request's own inputs, so they are kept by a key naming all of them, and
built again only for a key not seen yet. One input may vary under the same SQL — a "hole",
such as the id of a get: the first compile finds the argument that IS the hole's value (by
identity, so an equal value elsewhere, such as the caller's own id in a row rule, is not
mistaken for it) and later calls put their value in that place.

A key must hold everything the statement depends on; one cache belongs to one service (a new
schema makes a new service, `runtime/live.py`), so the tables cannot change under it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, NamedTuple

from piccolo.query import Select

NO_HOLE: Any = object()  # `compiled` without a hole


class Compiled(NamedTuple):
    sql: str
    args: tuple[Any, ...]
    hole: int | None  # the index in args of the value that varies, if any


class Statements:
    """A bounded map of key → compiled statement (the oldest key goes first when full)."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._known: dict[Hashable, Compiled] = {}

    def compiled(
        self, key: Hashable, build: Callable[[], Select[Any]], hole: Any = NO_HOLE
    ) -> tuple[str, list[Any]] | None:
        """(sql, args) of the query `build` makes for `key`, with `hole`'s value in its
        place; None for a query Piccolo runs as several statements (the caller runs it)."""
        known = self._known.get(key)
        if known is not None:
            args = list(known.args)
            if known.hole is not None:
                args[known.hole] = hole
            return known.sql, args
        strings = build().querystrings
        if len(strings) != 1:
            return None
        sql, args = strings[0].compile_string(engine_type="postgres")
        place: int | None = None
        if hole is not NO_HOLE:
            places = [i for i, arg in enumerate(args) if arg is hole]
            if len(places) != 1:  # not found once: right for this call, not to be kept
                return sql, args
            place = places[0]
        if len(self._known) >= self.size:
            self._known.pop(next(iter(self._known)))  # the oldest (dicts keep order)
        self._known[key] = Compiled(sql, tuple(args), place)
        return sql, args
