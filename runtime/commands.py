"""What each `plinth` subcommand does: load the project, open the database, call a package."""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from runtime.definitions import Project, check_project
from runtime.definitions.report import format_problems
from runtime.settings import Settings, definitions_folder, read_settings

if TYPE_CHECKING:  # the database stack is imported by the commands that use it
    from piccolo.engine.base import Engine

    from runtime.schema import Registry

console = Console(stderr=True, highlight=False)
out = Console(highlight=False)


class CommandError(Exception):
    """A command cannot go on; the message says why and what to do."""

    exit_code = 1


class Unavailable(CommandError):
    """The database cannot be reached or opened: nothing ran (exit 2, as a bad setting)."""

    exit_code = 2


async def _open(engine: Engine[Any]) -> None:
    from runtime.database import DatabaseUnavailable, open_engine

    try:
        await open_engine(engine)
    except DatabaseUnavailable as error:
        raise Unavailable(str(error)) from None


def _settings(args: argparse.Namespace) -> Settings:
    """The environment's settings with the command line's options over them (a SettingsError
    leaves `plinth` as one line and exit 2)."""
    return read_settings(definitions=_definitions(args))


def _definitions(args: argparse.Namespace) -> Path | None:
    return Path(args.definitions) if args.definitions else None


def _load_project(settings: Settings) -> Project:
    if not settings.definitions.is_dir():
        raise CommandError(
            f"no definitions folder at {settings.definitions} "
            "(use --definitions DIR or PLINTH_DEFINITIONS)"
        )
    project, problems = check_project(settings.definitions)
    errors = [p for p in problems if p.severity == "error"]
    if errors or project is None:
        sys.stderr.write(format_problems(problems) + "\n")
        raise CommandError(f"{len(errors)} error(s) in the definitions: fix them first")
    return project


@dataclass
class Opened:
    """What a command works with while its database is open."""

    settings: Settings
    project: Project
    engine: Engine[Any]

    @cached_property
    def registry(self) -> Registry:
        """The project's tables on the engine (`plan` and `migrate` need none)."""
        from runtime.schema import build_registry

        return build_registry(self.project, self.engine)


@contextlib.asynccontextmanager
async def _opened(settings: Settings, *expected: type[Exception]) -> AsyncIterator[Opened]:
    """The checked project and the process's engine, open for the block and closed after it,
    the one open/close of every command that uses the database. An `expected` error (bad
    input: its message is for the user) leaves as a CommandError."""
    from runtime.database import close_engine
    from runtime.piccolo_conf import DB

    project = _load_project(settings)
    await _open(DB)
    try:
        yield Opened(settings, project, DB)
    except expected as error:
        raise CommandError(str(error)) from None
    finally:
        await close_engine(DB)


async def cmd_check(args: argparse.Namespace) -> int:
    folder = definitions_folder(given=_definitions(args))
    _, problems = check_project(folder)
    if problems or args.format == "json":
        print(format_problems(problems, args.format))
    errors = sum(p.severity == "error" for p in problems)
    if args.format == "text":
        if errors:
            console.print(f"[red]{errors} error(s)[/red]")
        else:
            console.print(f"[green]definitions OK[/green] ({folder})")
    return 1 if errors else 0


async def cmd_schema(args: argparse.Namespace) -> int:
    source = Path(__file__).parent / "definitions" / "schemas"
    target = Path("schemas")
    target.mkdir(exist_ok=True)
    for path in sorted(source.glob("*.json")):
        shutil.copy(path, target / path.name)
        out.print(f"wrote {target / path.name}")
    return 0


async def cmd_plan(args: argparse.Namespace) -> int:
    from runtime.schema.migrate import plan
    from runtime.schema.plan_render import render_json, render_text

    async with _opened(_settings(args)) as db:  # no Piccolo tables: the Model and the database
        result = await plan(db.project, db.engine, db.settings.migrations)
    print(render_json(result) if args.format == "json" else render_text(result))
    return 0


async def cmd_migrate(args: argparse.Namespace) -> int:
    from runtime.schema.migrate import MigrationError, migrate
    from runtime.schema.progress import progress

    settings = _settings(args)
    if args.check:
        return _check_migrations(settings)
    async with _opened(settings, MigrationError) as db:
        with progress(console):
            result = await migrate(  # Piccolo tables only on PostgreSQL, for the security DDL
                db.project,
                db.engine,
                db.settings.migrations,
                allow_destructive=args.allow_destructive,
                dry_run=args.dry_run,
                write=not args.apply_only,
            )
    if args.dry_run:
        for statement in result.statements:
            print(statement.sql.rstrip() + ";")
        if not result.statements:
            out.print("nothing to change: the database is up to date")
        return 0
    if result.written:
        out.print(f"wrote {result.written}")
    for migration_id in result.applied:
        out.print(f"applied {migration_id}")
    out.print("[green]database is up to date[/green]")
    return 0


def _check_migrations(settings: Settings) -> int:
    """`plinth migrate --check`: the files against the definitions, no database opened."""
    from runtime.schema.check import check, histories, report

    engine = "sqlite" if settings.is_embedded else "postgres"
    engines = histories(settings.migrations, engine)
    behind = check(_load_project(settings), settings.migrations, engines)
    if behind:
        raise CommandError(report(behind))
    out.print(f"migrations are up to date with the definitions ({', '.join(engines)})")
    return 0


async def cmd_org(args: argparse.Namespace) -> int:
    from runtime.identity import accounts

    async with _opened(_settings(args), accounts.AccountError) as db:
        row = await accounts.create_organization(db.registry, args.slug, args.name)
    out.print(f"created organization {row['slug']} ({row['id']})")
    return 0


async def cmd_user(args: argparse.Namespace) -> int:
    from runtime.identity import accounts

    async with _opened(_settings(args), accounts.AccountError) as db:
        if args.action == "create":
            await _create_user(db.registry, args)
        elif args.action == "grant":
            await accounts.grant_role(db.registry, args.email, args.org, args.role)
            out.print(f"granted {args.role} in {args.org} to {args.email}")
        elif await accounts.revoke_role(db.registry, args.email, args.org, args.role):
            out.print(f"revoked {args.role} in {args.org} from {args.email}")
        else:
            raise CommandError(f"{args.email} has no role {args.role!r} in {args.org}")
    return 0


async def cmd_token(args: argparse.Namespace) -> int:
    """`plinth token create|revoke|list`: API tokens for apps."""
    from runtime.identity import accounts, api_tokens

    async with _opened(_settings(args), accounts.AccountError) as db:
        registry = db.registry
        if args.action == "create":
            row, raw = await api_tokens.create_api_token(registry, args.user, args.org, args.name)
            console.print(
                f"created API token {row['id']} ({row['name']}) for {args.user} in {args.org}; "
                "it is shown once, below: store it now"
            )
            print(raw)  # alone on stdout, for scripts: TOKEN=$(plinth token create ...)
        elif args.action == "revoke":
            row = await api_tokens.revoke_api_token(registry, args.id)
            out.print(f"revoked API token {row['id']} ({row['name']})")
        else:
            for row in await api_tokens.list_api_tokens(registry, args.user):
                state = "revoked" if row["revoked_at"] else "active"
                used = row["last_used_at"].isoformat() if row["last_used_at"] else "never"
                print(  # one line per token, unwrapped, for scripts
                    f"{row['id']}  {row['name']}  {row['organization']}  {state}  last used: {used}"
                )
    return 0


async def cmd_workflow(args: argparse.Namespace) -> int:
    """`plinth workflow runs|retry`: see workflow runs, retry a dead one by hand."""
    from runtime.identity import accounts
    from runtime.service import RecordService
    from runtime.workflows import runs

    async with _opened(_settings(args), runs.RunError, accounts.AccountError) as db:
        service = RecordService(db.registry)
        if args.action == "retry":
            run = await runs.retry_run(service, args.id)
            line = f"workflow run {run['id']} ({run['workflow']}): {run['status']}"
            if run["status"] not in ("succeeded", "skipped"):
                raise CommandError(f"{line}: {run['last_error']}")
            out.print(line)
            return 0
        tenant = None
        if args.org:
            tenant = (await accounts.find_organization(db.registry, args.org))["id"]
        for run in await runs.list_runs(service, status=args.status, tenant_id=tenant):
            print(  # one line per run, unwrapped, for scripts
                f"{run['id']}  {run['workflow']}  {run['status']}  attempts: {run['attempts']}  "
                f"event: {run['event_id']}  updated: {run['updated_at'].isoformat()}"
                + (f"  error: {run['last_error']}" if run["last_error"] else "")
            )
    return 0


async def _create_user(registry: Registry, args: argparse.Namespace) -> None:
    from runtime.identity import accounts

    if len(args.role) not in (0, len(args.org)) and len(args.role) != 1:
        raise CommandError("give one --role per --org (or a single --role for all of them)")
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise CommandError("no password on standard input (--password-stdin)")
    for slug in args.org:
        await accounts.find_organization(registry, slug)
    row = await accounts.create_user(registry, args.email, password, superuser=args.superuser)
    roles = args.role if len(args.role) == len(args.org) else args.role * len(args.org)
    for slug, role in zip(args.org, roles or ["owner"] * len(args.org), strict=True):
        await accounts.grant_role(registry, row["email"], slug, role)
    out.print(f"created user {row['email']}")


async def serve(
    settings: Settings, host: str, port: int, *, access_log: bool = False, workers: int = 1
) -> None:
    settings.key_ring()  # the one setting `serve` needs that the commands before it do not
    from runtime import serve as serving
    from runtime.app import LiveApp
    from runtime.database import close_engine
    from runtime.piccolo_conf import DB

    await _open(DB)  # a database that is down: one line now, not a traceback from start-up
    await close_engine(DB)

    project = _load_project(settings)  # checked here, also before worker processes start
    if workers > 1:
        serving.serve_workers(settings, host, port, access_log=access_log, workers=workers)
        return
    app = LiveApp(settings, project)
    await serving.serve_app(app, settings, host, port, access_log=access_log)


async def cmd_serve(args: argparse.Namespace) -> int:
    if args.workers < 1:
        raise CommandError("--workers must be at least 1")
    await serve(
        _settings(args), args.host, args.port, access_log=args.access_log, workers=args.workers
    )
    return 0


async def cmd_worker(args: argparse.Namespace) -> int:
    from runtime.live import LiveModel
    from runtime.storage import storage_from_url
    from runtime.workflows.workers import run_redis_worker

    settings = _settings(args)
    if not settings.redis_url:
        raise CommandError(
            "PLINTH_REDIS_URL is not set: without Redis, `plinth serve` runs the workflows itself"
        )
    async with _opened(settings) as db:
        storage = storage_from_url(settings.storage_url, settings.s3_endpoint_url)
        live = LiveModel(db.engine, settings.definitions, storage)
        await live.start(db.project)
        await run_redis_worker(live, settings.redis_url, settings.database_url)
    return 0


async def cmd_import(args: argparse.Namespace) -> int:
    """`plinth import ENTITY FILE --org SLUG`: rows through the service (transfer/commands.py)."""
    return await _transfer(args, "import")


async def cmd_export(args: argparse.Namespace) -> int:
    """`plinth export ENTITY --org SLUG`: the rows a list returns, streamed."""
    return await _transfer(args, "export")


async def _transfer(args: argparse.Namespace, verb: str) -> int:
    from runtime.identity.accounts import AccountError
    from runtime.service import RecordService
    from runtime.service.errors import ServiceError
    from runtime.transfer import commands as transfer
    from runtime.transfer.sources import SourceError

    expected = (AccountError, ServiceError, SourceError, transfer.TransferError)
    async with _opened(_settings(args), *expected) as db:
        service = RecordService(db.registry)
        if verb == "import":
            return await transfer.run_import(service, args, out)
        return await transfer.run_export(service, args)


async def cmd_demo(args: argparse.Namespace) -> int:
    from runtime.demo import seed
    from runtime.schema.migrate import migrate

    settings = _settings(args)
    settings.key_ring()  # before the demo migrates and seeds: it serves at the end
    async with _opened(settings) as db:
        await migrate(db.project, db.engine, db.settings.migrations)
        login = await seed(db.registry)
    url = f"http://{args.host}:{args.port}/admin/"
    out.print(f"\n[bold]Plinth demo[/bold] — admin: {url}")
    out.print(f"login: {login['email']}  password: {login['password']}")
    print(json.dumps({"admin": url, **login}))  # one line, for scripts
    sys.stdout.flush()
    await serve(db.settings, args.host, args.port)
    return 0
