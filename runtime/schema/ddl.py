"""SQL text shared by both engines: column definitions, CHECK and FOREIGN KEY clauses, CREATE
TABLE and CREATE INDEX, built from the schema's plain data."""

from __future__ import annotations

from dataclasses import dataclass

from runtime.schema.spec import Check, Column, Index, Schema, Table, identifier, q, sql_literal


@dataclass(frozen=True)
class Statement:
    table: str  # the table key it changes (for progress and error messages)
    sql: str


def fk_name(table: Table, column: str) -> str:
    return identifier(f"{table.name}_{column}_fkey")


def check_sql(check: Check) -> str:
    c = q(check.column)
    if check.kind == "choices":
        return f"{c} IN ({', '.join(sql_literal(v) for v in check.values)})"
    low, high = check.values
    value = f"length({c})" if check.kind == "length" else c
    parts = ([f"{value} >= {low}"] if low is not None else []) + (
        [f"{value} <= {high}"] if high is not None else []
    )
    return " AND ".join(parts)


def check_clause(check: Check) -> str:
    return f"CONSTRAINT {q(check.name)} CHECK ({check_sql(check)})"


def references(column: Column, schema: Schema) -> str:
    """`REFERENCES "app"."contact" ("id") ON DELETE SET NULL` for a reference column."""
    target = schema.tables[column.references or ""]
    key = next(c.name for c in target.columns if c.primary_key)
    return f"REFERENCES {target.qualified} ({q(key)}) ON DELETE {column.on_delete}"


def column_sql(column: Column) -> str:
    """A column's definition without its foreign key."""
    sql = f"{q(column.name)} {column.type}"
    if column.primary_key:
        sql += " PRIMARY KEY"
    if column.unique:
        sql += " UNIQUE"
    if not column.null:
        sql += " NOT NULL"
    if column.default is not None:
        sql += f" DEFAULT {column.default}"
    return sql


def create_table(
    table: Table, schema: Schema, name: str | None = None, skip_fks: frozenset[str] = frozenset()
) -> str:
    """CREATE TABLE with its foreign keys and CHECK constraints (as `name`, for a rebuild);
    foreign keys on `skip_fks` columns are added later (their target does not exist yet)."""
    lines = [column_sql(c) for c in table.columns]
    for column in table.columns:
        if column.references and column.name not in skip_fks:
            lines.append(
                f"CONSTRAINT {q(fk_name(table, column.name))} FOREIGN KEY ({q(column.name)}) "
                + references(column, schema)
            )
    lines += [check_clause(c) for c in table.checks]
    target = q(name) if name else table.qualified
    return f"CREATE TABLE {target} (\n    " + ",\n    ".join(lines) + "\n)"


def create_index(table: Table, index: Index) -> str:
    unique = "UNIQUE " if index.unique else ""
    columns = ", ".join(q(c) for c in index.columns)
    return f"CREATE {unique}INDEX {q(index.name)} ON {table.qualified} ({columns})"


def drop_index(table: Table, index: Index) -> str:
    return f"DROP INDEX {table.index_name(index.name)}"


def table_statements(
    table: Table, schema: Schema, skip_fks: frozenset[str] = frozenset()
) -> list[Statement]:
    statements = [Statement(table.key, create_table(table, schema, skip_fks=skip_fks))]
    statements += [Statement(table.key, create_index(table, i)) for i in table.indexes]
    return statements
