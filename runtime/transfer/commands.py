"""`plinth import` and `plinth export`: the service's import and export for an organization,
as a user of it (`--as EMAIL`: that user's roles and rules) or as the platform (the CLI's
operator, with an owner's rights, shown as `cli` in the timeline)."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn

from runtime.access import Principal
from runtime.access.resolve import principal_for
from runtime.identity import accounts
from runtime.schema.registry import Registry
from runtime.service import ListQuery, RecordService
from runtime.service.imports import ImportOptions, ImportReport
from runtime.transfer.export import export_lines
from runtime.transfer.formats import SUFFIXES
from runtime.transfer.sources import read_rows


class TransferError(Exception):
    """A command's input cannot be used; the message says why."""


async def acting(registry: Registry, args: argparse.Namespace, actor: str) -> Principal:
    organization = await accounts.find_organization(registry, args.org)
    if args.as_user is None:
        return Principal.system(organization["id"], actor)
    user = await accounts.find_user(registry, args.as_user)
    principal = await principal_for(registry, user["id"], organization["id"])
    if principal is None:
        raise TransferError(f"{args.as_user} is not an active member of {args.org}")
    return principal


def _format(args: argparse.Namespace, path: str | None) -> str:
    fmt = args.format or (SUFFIXES.get(Path(path).suffix.lower()) if path else None)
    if fmt is None:
        raise TransferError("say --format csv or --format ndjson (the file's name does not)")
    return str(fmt)


@contextlib.contextmanager
def _lines(path: str) -> Iterator[Iterator[str]]:
    if path == "-":
        sys.stdin.reconfigure(encoding="utf-8-sig", newline="")  # type: ignore[union-attr]
        yield iter(sys.stdin)
        return
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            yield iter(handle)
    except OSError as error:
        raise TransferError(f"{path}: {error.strerror}") from None


async def run_import(service: RecordService, args: argparse.Namespace, out: Console) -> int:
    principal = await acting(service.registry, args, "cli")
    entity = service.entity(args.entity)
    options = ImportOptions(key=args.key, dry_run=args.dry_run, partial=args.partial)
    service.check_import(principal, entity.name, options)
    fmt = _format(args, None if args.file == "-" else args.file)
    with _lines(args.file) as lines, _progress() as progress:
        task = progress.add_task("importing", total=None, rows=0)
        rows = read_rows(service.project, entity, lines, fmt)
        report = await service.import_rows(
            principal, entity.name, rows, options,
            progress=lambda done: progress.update(task, rows=done),
        )  # fmt: skip
    _print_report(report, options, out)
    return 0 if not report.errors else 1


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(), TextColumn("{task.description}: {task.fields[rows]} rows"),
        console=Console(stderr=True), transient=True,
    )  # fmt: skip


def _print_report(report: ImportReport, options: ImportOptions, out: Console) -> None:
    for error in report.errors:
        print(error)  # one line per error, unwrapped, for scripts
    counts = (f"{report.created} created, {report.changed} changed, "
              f"{report.unchanged} unchanged, {report.failed_rows} failed")  # fmt: skip
    if options.dry_run:
        line = f"{report.rows} rows checked (dry run, nothing written): would be {counts}"
    elif report.committed:
        line = f"{report.rows} rows imported: {counts}"
    else:
        line = (f"{report.rows} rows, {report.failed_rows} failed: NOTHING imported "
                "(fix the rows above, or use --partial)")  # fmt: skip
    out.print(line, highlight=False, soft_wrap=True)


async def run_export(service: RecordService, args: argparse.Namespace) -> int:
    principal = await acting(service.registry, args, "cli")
    entity = service.entity(args.entity)
    try:
        where = json.loads(args.filter) if args.filter else None
    except ValueError as error:
        raise TransferError(f"--filter is not JSON: {error}") from None
    query = ListQuery(
        filter=where, search=args.search,
        sort=[s for s in (args.sort or "").split(",") if s] or None,
        fields=[f for f in (args.fields or "").split(",") if f] or None,
    )  # fmt: skip
    fmt = _format(args, args.output) if args.format or args.output else "csv"
    body = await export_lines(service, principal, entity.name, fmt, query)
    target: IO[str]
    with contextlib.ExitStack() as stack:
        if args.output:
            target = stack.enter_context(open(args.output, "w", encoding="utf-8", newline=""))
        else:
            target = sys.stdout
        async for chunk in body:
            target.write(chunk)
    return 0
