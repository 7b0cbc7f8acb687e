"""Filter AST nodes, and variables."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

Path = tuple[str | int, ...]  # keys and list indexes from the filter's root


class FilterError(ValueError):
    """A filter is malformed; `path` locates the offending part inside the filter.

    `code` says what is wrong, `value` is the offending part, `field` and `op` the condition
    it is in (`op` None: the shorthand `{field: value}`) — so `plinth check` can word the
    same problem in its own terms."""

    def __init__(
        self,
        path: Path,
        message: str,
        *,
        code: str = "filter",
        value: Any = None,
        field: str | None = None,
        op: str | None = None,
    ) -> None:
        self.path = path
        self.message = message
        self.code, self.value, self.field, self.op = code, value, field, op
        where = ".".join(str(p) for p in path) or "filter"
        super().__init__(f"{where}: {message}")


def kind_of(value: Any) -> str:
    """What a value is, in the words of JSON and YAML: 'text', 'number', 'a list', 'null', …"""
    match value:
        case None:
            return "null"
        case bool():
            return "true/false"
        case int() | float():
            return "a number"
        case str():
            return "text"
        case list() | tuple():
            return "a list"
        case dict():
            return "an object"
    return type(value).__name__


@dataclass(frozen=True, slots=True)
class Var:
    """A variable such as `$user.id` or `$record.contact.email`, resolved when applied."""

    name: str


@dataclass(frozen=True, slots=True)
class Cond:
    field: str  # a field name, or a dotted path through references
    op: str
    value: Any  # a literal, a Var, or a tuple of them
    # Where the filter wrote the operand and the field (the same for `{field: value}`), for
    # messages about it; not part of what the condition means.
    at: Path = dataclasses.field(default=(), compare=False, repr=False)
    field_at: Path = dataclasses.field(default=(), compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


Node = Cond | And | Or | Not
RECORD_VARIABLES = ("$record", "$old")


def lookup(record: Any, path: str) -> Any:
    """`lookup({"contact": {"name": "Ann"}}, "contact.name")` → "Ann"; missing → None; a
    loaded reference compares as its id (`lookup(record, "contact")`, `$record.contact`)."""
    value = record
    for part in path.split(".") if path else ():
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, dict) and "id" in value:
        return value["id"]
    return value


def resolve(value: Any, variables: dict[str, Any]) -> Any:
    """Replace Vars by their values: `Var("$user.id")` with {"$user.id": 7} → 7.

    `$record.a.b` and `$old.a.b` walk the dicts given as `$record` / `$old`; `$now` defaults
    to the current time. `$today` is the caller's to give: a date is one of a timezone (the
    platform's, `Platform.today`)."""
    if isinstance(value, tuple | list):
        return tuple(resolve(v, variables) for v in value)
    if not isinstance(value, Var):
        return value
    name = value.name
    if name in variables:
        return variables[name]
    if name == "$now":
        return dt.datetime.now(dt.UTC)
    head, _, rest = name.partition(".")
    if head in RECORD_VARIABLES and head in variables:
        return lookup(variables[head], rest)
    raise FilterError((), f"variable {name} is not available here")


def uses_clock(node: Node) -> bool:
    """Whether the filter compares with `$now`: its SQL holds the time it was bound at."""
    for cond in walk(node):
        values = cond.value if isinstance(cond.value, tuple | list) else (cond.value,)
        if any(isinstance(v, Var) and v.name == "$now" for v in values):
            return True
    return False


def walk(node: Node) -> Iterator[Cond]:
    """Every Cond of a filter, depth first."""
    match node:
        case And(children) | Or(children):
            for child in children:
                yield from walk(child)
        case Not(child):
            yield from walk(child)
        case Cond():
            yield node
