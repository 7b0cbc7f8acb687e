"""Rendering problems for people (`path:line:col: message`) and for tools (JSON)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Literal

from runtime.definitions.errors import Problem


def format_problems(problems: Iterable[Problem], fmt: Literal["text", "json"] = "text") -> str:
    """One line per problem, or a JSON list of {file, line, col, severity, message}.

    Errors come first, then warnings (prefixed `warning:`); each group keeps the given order.

    >>> format_problems([Problem(Loc("definitions/t.yaml", 3, 5), "unknown key 'x'")])
    "definitions/t.yaml:3:5: unknown key 'x'"
    """
    problems = list(problems)
    problems = [p for p in problems if p.is_error] + [p for p in problems if not p.is_error]
    if fmt == "json":
        return json.dumps([_as_dict(p) for p in problems], indent=2, ensure_ascii=False)
    if fmt != "text":
        raise ValueError(f"unknown format {fmt!r}: use 'text' or 'json'")
    return "\n".join(_as_line(p) for p in problems)


def _as_line(problem: Problem) -> str:
    prefix = "" if problem.is_error else f"{problem.severity}: "
    return f"{problem.loc}: {prefix}{problem.message}"


def _as_dict(problem: Problem) -> dict[str, object]:
    loc = problem.loc
    return {
        "file": loc.file,
        "line": loc.line,
        "col": loc.col,
        "severity": problem.severity,
        "message": problem.message,
    }
