"""The `plinth` command. Each subcommand parses its arguments and calls into a package."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

import uvloop
from rich.console import Console
from rich.text import Text

console = Console(stderr=True)
out = Console()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="plinth", description=__doc__)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--definitions",
        metavar="DIR",
        help="definitions folder (default: $PLINTH_DEFINITIONS or ./definitions)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = sub.add_parser("check", parents=[common], help="validate the definitions")
    check.add_argument("--format", choices=["text", "json"], default="text")
    plan = sub.add_parser(
        "plan", parents=[common], help="show the schema change the definitions need"
    )
    plan.add_argument("--format", choices=["text", "json"], default="text")
    migrate = sub.add_parser("migrate", parents=[common], help="write and apply migrations")
    migrate.add_argument(
        "--allow-destructive",
        action="store_true",
        help="apply steps that drop or narrow data (plan shows each one and its impact)",
    )
    migrate.add_argument(
        "--dry-run", action="store_true", help="print the SQL; write and apply nothing"
    )
    migrate.add_argument(
        "--apply-only",
        action="store_true",
        help="apply the migration files, write none; refuse (nothing changed) when the "
        "definitions need one that is not written (deploys)",
    )
    migrate.add_argument(
        "--check",
        action="store_true",
        help="exit 1 when the definitions need a migration not written yet (CI; no database)",
    )
    serve = sub.add_parser("serve", parents=[common], help="run the API and the admin")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers", type=int, default=1, help="server processes sharing the port (default 1)"
    )
    serve.add_argument(
        "--access-log", action="store_true", help="log every request (off: it costs throughput)"
    )
    sub.add_parser("worker", parents=[common], help="run the outbox relay and a SAQ worker")
    demo = sub.add_parser("demo", parents=[common], help="demo data, an admin login, and serve")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    sub.add_parser("schema", parents=[common], help="write the definitions' JSON Schemas")
    _add_account_commands(sub, common)
    _add_workflow_commands(sub, common)
    from runtime.transfer.cli_args import add_commands  # `plinth import` and `plinth export`

    add_commands(sub, common)
    return parser


def _add_account_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """`plinth org`, `plinth user` and `plinth token`."""
    org = sub.add_parser("org", help="organizations").add_subparsers(dest="action", required=True)
    org_create = org.add_parser("create", parents=[common], help="create an organization")
    org_create.add_argument("slug")
    org_create.add_argument("--name")

    user = sub.add_parser("user", help="users").add_subparsers(dest="action", required=True)
    user_create = user.add_parser("create", parents=[common], help="create a user")
    user_create.add_argument("email")
    user_create.add_argument("--password-stdin", action="store_true", required=True)
    user_create.add_argument("--org", action="append", default=[], metavar="SLUG")
    user_create.add_argument("--role", action="append", default=[], metavar="ROLE")
    user_create.add_argument("--superuser", action="store_true")
    grant = user.add_parser("grant", parents=[common], help="grant a role in an organization")
    grant.add_argument("email")
    grant.add_argument("--org", required=True, metavar="SLUG")
    grant.add_argument("--role", required=True)
    revoke = user.add_parser("revoke", parents=[common], help="take a role away")
    revoke.add_argument("email")
    revoke.add_argument("--org", required=True, metavar="SLUG")
    revoke.add_argument("--role", required=True)

    token = sub.add_parser("token", help="API tokens for apps").add_subparsers(
        dest="action", required=True
    )
    token_create = token.add_parser(
        "create", parents=[common], help="create an API token (printed once)"
    )
    token_create.add_argument("--user", required=True, metavar="EMAIL")
    token_create.add_argument("--org", required=True, metavar="SLUG")
    token_create.add_argument("--name", required=True)
    token_revoke = token.add_parser("revoke", parents=[common], help="revoke an API token")
    token_revoke.add_argument("id")
    token_list = token.add_parser("list", parents=[common], help="a user's API tokens")
    token_list.add_argument("--user", required=True, metavar="EMAIL")


def _add_workflow_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    workflow = sub.add_parser("workflow", help="workflow runs").add_subparsers(
        dest="action", required=True
    )
    runs = workflow.add_parser("runs", parents=[common], help="list workflow runs")
    runs.add_argument("--status", help="only runs of this status (dead, failed, ...)")
    runs.add_argument("--org", metavar="SLUG", help="only runs of this organization")
    retry = workflow.add_parser("retry", parents=[common], help="attempt a dead run once more")
    retry.add_argument("id")


CONFIGURATION_ERROR = 2  # a setting is missing or malformed: nothing ran
BROKEN_PIPE = 128 + 13  # what a shell reports for a process that SIGPIPE ended


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)  # the options reach the commands as `args`
    # Not an option: where Piccolo's migration runner finds this process's engine.
    os.environ.setdefault("PICCOLO_CONF", "runtime.piccolo_conf")
    from runtime import commands  # imported late: `plinth --help` pays for argparse alone
    from runtime.settings import SettingsError

    handler = getattr(commands, f"cmd_{args.command}")
    try:
        # uvloop: asyncpg's and the sockets' fast path (the workers' throughput, the server's)
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            code = runner.run(handler(args)) or 0
        sys.stdout.flush()  # here, where a closed pipe is caught, not at the interpreter's exit
        return code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `plinth workflow runs | head`: the reader has what it wanted
        _silence_stdout()
        return BROKEN_PIPE
    except SettingsError as error:
        _error(str(error))
        return CONFIGURATION_ERROR
    except commands.CommandError as error:
        _error(str(error))
        return error.exit_code


def _error(text: str) -> None:
    message = Text.assemble(("error:", "red"), " ", text)  # no markup in messages
    console.print(message, highlight=False, soft_wrap=True)


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that flushing it at exit does not fail a second time
    (Python's advice for SIGPIPE, docs.python.org/3/library/signal.html)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


if __name__ == "__main__":
    sys.exit(main())
