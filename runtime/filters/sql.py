"""Compile a filter AST to one SQL condition (a Piccolo `WhereRaw`) over an entity table.

A path through references becomes a scalar subquery, so a missing reference yields NULL just
as the in-memory evaluation does, and the condition works unchanged in SELECT, COUNT, UPDATE
and DELETE. Values are always bound parameters.
"""

from __future__ import annotations

from typing import Any

from piccolo.columns import Column, ForeignKey, Text, Varchar
from piccolo.columns.combination import WhereRaw
from piccolo.table import Table

from runtime.filters.ast import And, Cond, FilterError, Node, Not, Or, resolve
from runtime.filters.text import FOLD_SQL

ORDERING = ("gt", "gte", "lt", "lte", "between")


class _Compiler:
    def __init__(self, table: type[Table], variables: dict[str, Any]) -> None:
        self.table = table
        self.variables = variables
        self.is_sqlite = table._meta.db.engine_type == "sqlite"
        self.aliases = 0
        self.args: list[Any] = []

    def param(self, value: Any) -> str:
        self.args.append(value)
        return "{}"

    def text_param(self, value: Any) -> str:
        self.args.append(value)
        return "CAST({} AS TEXT)"

    def path(self, table: type[Table], parts: list[str], row: str) -> tuple[str, Column]:
        """The SQL of a path, and the column it ends on."""
        column = next((c for c in table._meta.columns if c._meta.name == parts[0]), None)
        if column is None:
            raise FilterError((".".join(parts),), f"no such field on {table.__name__}")
        name = f'{row}."{column._meta.db_column_name}"'
        if len(parts) == 1:
            return name, column
        if not isinstance(column, ForeignKey):
            raise FilterError((parts[0],), f"'{parts[0]}' is not a reference")
        target = column._foreign_key_meta.resolved_references
        self.aliases += 1
        alias = f'"_p{self.aliases}"'
        inner, last = self.path(target, parts[1:], alias)
        pk = target._meta.primary_key._meta.db_column_name
        source = target._meta.get_formatted_tablename()
        return f'(SELECT {inner} FROM {source} AS {alias} WHERE {alias}."{pk}" = {name})', last

    def cond(self, cond: Cond) -> str:
        row = f'"{self.table._meta.tablename}"'
        expr, column = self.path(self.table, cond.field.split("."), row)
        value = resolve(cond.value, self.variables)
        op = cond.op
        if op in ORDERING:
            expr = by_code_point(expr, column)
        if op == "isnull":
            return f"{expr} IS {'' if value else 'NOT '}NULL"
        if op in ("in", "nin"):
            values = [v for v in value if v is not None]
            if op == "in":
                if not values:
                    return "1 = 0"
                return f"{expr} IN ({', '.join(self.param(v) for v in values)})"
            if len(values) != len(value):
                return "1 = 0"  # NOT IN (…, NULL) is never true
            if not values:
                return f"{expr} IS NOT NULL"
            return f"{expr} NOT IN ({', '.join(self.param(v) for v in values)})"
        if op == "between":
            if None in value:
                return "1 = 0"
            return f"{expr} BETWEEN {self.param(value[0])} AND {self.param(value[1])}"
        if value is None:
            return "1 = 0"
        if op in ("contains", "icontains", "startswith", "endswith"):
            return self.text(op, expr, value)
        sql_op = {"eq": "=", "ne": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op]
        return f"{expr} {sql_op} {self.param(value)}"

    def text(self, op: str, expr: str, value: str) -> str:
        find = "instr" if self.is_sqlite else "strpos"
        if op == "contains":
            return f"{find}({expr}, {self.text_param(value)}) > 0"
        if op == "icontains":
            fold = "plinth_fold({})" if self.is_sqlite else FOLD_SQL
            folded = fold.format(expr), fold.format(self.text_param(value))
            return f"{find}({folded[0]}, {folded[1]}) > 0"
        if value == "":
            return f"{expr} IS NOT NULL"
        length = f"length({self.text_param(value)})"
        if op == "startswith":
            return f"substr({expr}, 1, {length}) = {self.text_param(value)}"
        tail = f"substr({expr}, -{length})" if self.is_sqlite else f"right({expr}, {length})"
        return f"{tail} = {self.text_param(value)}"

    def node(self, node: Node) -> str:
        match node:
            case And(children):
                return (
                    "(" + " AND ".join(self.node(c) for c in children) + ")"
                    if children
                    else "1 = 1"
                )
            case Or(children):
                return (
                    "(" + " OR ".join(self.node(c) for c in children) + ")" if children else "1 = 0"
                )
            case Not(child):
                return f"NOT COALESCE(({self.node(child)}), FALSE)"
            case Cond():
                return self.cond(node)
        raise TypeError(f"not a filter node: {node!r}")


def by_code_point(expr: str, column: Column) -> str:
    """`expr` ordered by code point, as in Python (and SQLite), whatever the collation of the
    database (en_US.UTF-8 would put 'a' before 'B'): filters and sorts order text alike."""
    postgres = column._meta.engine_type != "sqlite"
    return f'{expr} COLLATE "C"' if postgres and isinstance(column, Varchar | Text) else expr


def path_sql(table: type[Table], path: str, row: str | None = None) -> tuple[str, Column]:
    """The SQL of a field path over `table` (a scalar subquery per reference, no parameters)
    as seen from `row` (default: the table itself), and the column it ends on."""
    compiler = _Compiler(table, {})
    return compiler.path(table, path.split("."), row or f'"{table._meta.tablename}"')


def compile_where(
    table: type[Table], node: Node, variables: dict[str, Any] | None = None
) -> WhereRaw:
    """The SQL condition for `node` over `table`, e.g. `{"contact.name": "Ann"}` →
    `(SELECT "_p1"."name" FROM "contact" AS "_p1" WHERE "_p1"."id" = "ticket"."contact") = $1`."""
    compiler = _Compiler(table, variables or {})
    sql = compiler.node(node)
    return WhereRaw(sql, *compiler.args)
