"""The filter grammar of SPEC §1.3: parse once, then compile to SQL or evaluate in memory."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runtime.filters.ast import And, Cond, FilterError, Node, Not, Or, Var, uses_clock
from runtime.filters.evaluate import evaluate
from runtime.filters.parse import OPERATORS, parse_filter

if TYPE_CHECKING:
    from runtime.filters.sql import compile_where

__all__ = [
    "OPERATORS",
    "And",
    "Cond",
    "FilterError",
    "Node",
    "Not",
    "Or",
    "Var",
    "compile_where",
    "evaluate",
    "parse_filter",
    "uses_clock",
]


def __getattr__(name: str) -> Any:
    """`compile_where` on first use: it needs piccolo, which `plinth check` (the grammar
    without a database) should not pay for."""
    if name == "compile_where":
        from runtime.filters.sql import compile_where

        return compile_where
    raise AttributeError(f"module 'runtime.filters' has no attribute {name!r}")
