"""Rich progress for `plinth migrate`: the statement running now (a table rebuild, an index
build, a copy of rows), and a line for each step that took a while."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from runtime.schema.apply import reporter
from runtime.schema.ddl import Statement
from runtime.schema.sqlite_rebuild import REBUILD_PREFIX

SLOW_SECONDS = 1.0
_NAME = re.compile(r'"([^"]+)"(?:\s*\.\s*"([^"]+)")?')


def describe_statement(statement: Statement) -> str:
    """`Customer: rebuild table customer (copy rows)`, `Customer: build index ...`."""
    sql = statement.sql.lstrip()
    head = sql.split("(")[0].upper()
    match = _NAME.search(sql)
    name = (match.group(2) or match.group(1)) if match else ""
    if REBUILD_PREFIX in sql.split("\n")[0]:
        if head.startswith("CREATE TABLE"):
            what = f"rebuild table {name.removeprefix(REBUILD_PREFIX)}: create the new table"
        elif head.startswith("INSERT"):
            what = f"rebuild table {name.removeprefix(REBUILD_PREFIX)}: copy the rows"
        elif head.startswith("SELECT"):
            what = f"rebuild table: check the converted values of {name}"
        else:
            what = f"rebuild table: {' '.join(sql.split()[:3]).lower()}"
    elif "INDEX" in head and head.startswith("CREATE"):
        what = f"build index {name}"
    else:
        what = " ".join(sql.split()[:4])
    return f"{statement.table}: {what}" if statement.table else what


@contextmanager
def progress(console: Console) -> Iterator[None]:
    bar = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    tasks: list[Any] = []

    def report(statement: Statement, index: int, total: int, seconds: float | None) -> None:
        if not tasks:
            bar.start()
            tasks.append(bar.add_task("migrating", total=total))
        text = describe_statement(statement)
        if seconds is None:
            bar.update(tasks[0], description=text)
            return
        bar.update(tasks[0], completed=index + 1)
        if seconds >= SLOW_SECONDS:
            bar.console.print(f"  {text} [dim]({seconds:.1f} s)[/dim]")

    token = reporter.set(report)
    try:
        yield
    finally:
        reporter.reset(token)
        bar.stop()
