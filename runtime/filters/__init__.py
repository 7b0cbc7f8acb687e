"""The filter grammar of SPEC §1.3: parse once, then compile to SQL or evaluate in memory."""

from runtime.filters.ast import And, Cond, FilterError, Node, Not, Or, Var
from runtime.filters.evaluate import evaluate
from runtime.filters.parse import OPERATORS, parse_filter
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
]
