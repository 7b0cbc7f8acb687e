"""Problems found in definitions, and the exception that carries them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from runtime.definitions.model import Loc

if TYPE_CHECKING:
    from runtime.definitions.nodes import NodePath

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong (or suspicious) in the definitions, at the place it was written."""

    loc: Loc
    message: str
    severity: Severity = "error"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


@dataclass(frozen=True, slots=True)
class Issue:
    """A problem before it has a place: what is wrong at `path` inside one document.

    Checks yield issues; the code walking the documents turns them into located Problems.
    `at_key` points at the mapping key naming `path` rather than at its value.
    """

    path: NodePath
    message: str
    at_key: bool = False
    severity: Severity = "error"


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    """Sort by file, line and column; equal positions keep the order they were found in."""
    return sorted(problems, key=lambda p: (p.loc.file, p.loc.line, p.loc.col))


class DefinitionsError(Exception):
    """Raised by `load_project` when the definitions hold at least one error."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sort_problems(problems)
        errors = sum(1 for p in self.problems if p.is_error)
        first = next((p for p in self.problems if p.is_error), None)
        summary = f"{errors} error(s) in definitions"
        if first is not None:
            summary += f"; first: {first.loc}: {first.message}"
        super().__init__(summary)
