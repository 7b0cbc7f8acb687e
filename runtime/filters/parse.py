"""Filter dict (from YAML or JSON) → AST, with errors that locate the bad part."""

from __future__ import annotations

from difflib import get_close_matches
from typing import Any

from runtime.filters.ast import And, Cond, FilterError, Node, Not, Or, Var

OPERATORS = (
    "eq",
    "ne",
    "gt",
    "gte",
    "lt",
    "lte",
    "in",
    "nin",
    "between",
    "contains",
    "icontains",
    "startswith",
    "endswith",
    "isnull",
)
LIST_OPERATORS = ("in", "nin")


def _value(raw: Any, path: tuple[str | int, ...]) -> Any:
    if isinstance(raw, str) and raw.startswith("$"):
        return Var(raw)
    if isinstance(raw, dict):
        raise FilterError(path, "expected a value, got an object")
    return raw


def _condition(field: str, spec: Any, path: tuple[str | int, ...]) -> Node:
    if not isinstance(spec, dict):
        return Cond(field, "eq", _value(spec, path))
    if not spec:
        raise FilterError(path, "expected {operator: value}, got an empty object")
    conds: list[Node] = []
    for op, raw in spec.items():
        here = (*path, op)
        if op not in OPERATORS:
            close = get_close_matches(str(op), OPERATORS, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise FilterError(here, f"unknown operator '{op}'{hint}")
        if op in LIST_OPERATORS or op == "between":
            if not isinstance(raw, list):
                raise FilterError(here, f"'{op}' expects a list, got {type(raw).__name__}")
            if op == "between" and len(raw) != 2:
                raise FilterError(here, "'between' expects [low, high]")
            value: Any = tuple(_value(v, (*here, i)) for i, v in enumerate(raw))
        elif op == "isnull":
            if not isinstance(raw, bool):
                raise FilterError(here, "'isnull' expects true or false")
            value = raw
        else:
            value = _value(raw, here)
        conds.append(Cond(field, op, value))
    return conds[0] if len(conds) == 1 else And(tuple(conds))


def parse_filter(raw: Any, path: tuple[str | int, ...] = ()) -> Node:
    """`{"priority": {"gte": 4}, "status": "open"}`
    → `And((Cond("priority", "gte", 4), Cond("status", "eq", "open")))`."""
    if not isinstance(raw, dict):
        raise FilterError(path, f"a filter is an object, got {type(raw).__name__}")
    nodes: list[Node] = []
    for key, spec in raw.items():
        here = (*path, key)
        if key in ("and", "or"):
            if not isinstance(spec, list) or not spec:
                raise FilterError(here, f"'{key}' expects a non-empty list of filters")
            children = tuple(parse_filter(c, (*here, i)) for i, c in enumerate(spec))
            nodes.append(And(children) if key == "and" else Or(children))
        elif key == "not":
            nodes.append(Not(parse_filter(spec, here)))
        else:
            nodes.append(_condition(str(key), spec, here))
    if not nodes:
        return And(())
    return nodes[0] if len(nodes) == 1 else And(tuple(nodes))
