"""The arguments of `plinth import` and `plinth export` (argparse only: `plinth --help` stays
fast; the commands are in runtime/transfer/commands.py)."""

from __future__ import annotations

import argparse

from runtime.transfer.formats import FORMATS


def add_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    imp = sub.add_parser("import", parents=[common], help="import records from CSV or JSON lines")
    imp.add_argument("entity", help="the entity's name (Ticket)")
    imp.add_argument("file", help="a .csv, .ndjson or .jsonl file, or - for stdin")
    imp.add_argument("--key", metavar="FIELD", help="update the record whose unique FIELD matches")
    imp.add_argument("--dry-run", action="store_true", help="check every row, write nothing")
    imp.add_argument("--partial", action="store_true", help="write the good rows, report the rest")
    exp = sub.add_parser("export", parents=[common], help="export records as CSV or JSON lines")
    exp.add_argument("entity", help="the entity's name (Ticket)")
    exp.add_argument("--filter", metavar="JSON", help="a filter, as ?filter= takes it")
    exp.add_argument("--sort", metavar="FIELDS", help="e.g. -priority,subject")
    exp.add_argument("--fields", metavar="FIELDS", help="the columns, e.g. id,subject,contact.name")
    exp.add_argument("--search", metavar="TEXT")
    exp.add_argument("-o", "--output", metavar="FILE", help="default: stdout")
    for parser in (imp, exp):
        parser.add_argument("--org", required=True, metavar="SLUG")
        parser.add_argument("--as", dest="as_user", metavar="EMAIL", help="act as this user")
        parser.add_argument("--format", choices=FORMATS, help="default: from the file's name")
