"""Filter AST nodes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class FilterError(ValueError):
    """A filter is malformed; `path` locates the offending part inside the filter."""

    def __init__(self, path: tuple[str | int, ...], message: str) -> None:
        self.path = path
        self.message = message
        where = ".".join(str(p) for p in path) or "filter"
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True, slots=True)
class Var:
    """A variable such as `$user.id`, resolved when the filter is applied."""

    name: str


@dataclass(frozen=True, slots=True)
class Cond:
    field: str  # a field name or dotted path
    op: str
    value: Any  # a literal, a Var, or a list/tuple of them


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


def resolve(value: Any, variables: dict[str, Any]) -> Any:
    """Replace Vars by their values: `Var("$user.id")` with {"$user.id": 7} → 7."""
    if isinstance(value, Var):
        if value.name not in variables:
            raise FilterError((), f"variable {value.name} is not available here")
        return variables[value.name]
    if isinstance(value, list | tuple):
        return [resolve(v, variables) for v in value]
    return value
