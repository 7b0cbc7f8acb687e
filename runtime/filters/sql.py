"""Compile a filter AST to a Piccolo where clause."""

from __future__ import annotations

from typing import Any

from piccolo.columns import Column
from piccolo.columns.combination import And as SqlAnd
from piccolo.columns.combination import Or as SqlOr
from piccolo.columns.combination import WhereRaw
from piccolo.table import Table

from runtime.filters.ast import And, Cond, FilterError, Node, Not, Or, resolve


def _column(table: type[Table], path: str) -> Column:
    column: Any = table
    for part in path.split("."):
        column = getattr(column, part, None)
        if not isinstance(column, Column):
            raise FilterError((path,), f"no such field on {table.__name__}")
    return column


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _cond(column: Column, op: str, value: Any):
    match op:
        case "eq":
            return column.is_null() & column.is_not_null() if value is None else column == value
        case "ne":
            return column.is_null() & column.is_not_null() if value is None else column != value
        case "gt":
            return column > value
        case "gte":
            return column >= value
        case "lt":
            return column < value
        case "lte":
            return column <= value
        case "in":
            return column.is_in(list(value)) if value else WhereRaw("1 = 0")
        case "nin":
            return column.not_in(list(value)) if value else column.is_not_null()
        case "between":
            return (column >= value[0]) & (column <= value[1])
        case "contains":
            return column.like(f"%{_escape_like(str(value))}%")
        case "icontains":
            return column.ilike(f"%{_escape_like(str(value))}%")
        case "startswith":
            return column.like(f"{_escape_like(str(value))}%")
        case "endswith":
            return column.like(f"%{_escape_like(str(value))}")
        case "isnull":
            return column.is_null() if value else column.is_not_null()
    raise FilterError((), f"unknown operator {op!r}")


def compile_where(table: type[Table], node: Node, variables: dict[str, Any] | None = None):
    """The Piccolo where clause for `node` over `table` (None for an empty filter)."""
    variables = variables or {}
    match node:
        case And(children) | Or(children) if not children:
            return None if isinstance(node, And) else WhereRaw("1 = 0")
        case And(children):
            clauses = [compile_where(table, c, variables) for c in children]
            return _fold(SqlAnd, [c for c in clauses if c is not None])
        case Or(children):
            clauses = [compile_where(table, c, variables) or WhereRaw("1 = 1") for c in children]
            return _fold(SqlOr, clauses)
        case Not(child):
            inner = compile_where(table, child, variables)
            if inner is None:
                return WhereRaw("1 = 0")
            sql = inner.querystring
            return WhereRaw(f"NOT COALESCE(({sql.template}), FALSE)", *sql.args)
        case Cond(field, op, value):
            return _cond(_column(table, field), op, resolve(value, variables))
    raise TypeError(f"not a filter node: {node!r}")


def _fold(combine, clauses):
    if not clauses:
        return None
    result = clauses[0]
    for clause in clauses[1:]:
        result = combine(result, clause)
    return result
