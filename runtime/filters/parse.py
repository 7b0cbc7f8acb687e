"""Filter dict (from YAML or JSON) → AST, with errors that locate the bad part."""

from __future__ import annotations

import re
from typing import Any

from runtime.filters.ast import And, Cond, FilterError, Node, Not, Or, Var, kind_of
from runtime.suggest import did_you_mean

OPERATORS = (
    "eq", "ne", "gt", "gte", "lt", "lte", "in", "nin", "between",
    "contains", "icontains", "startswith", "endswith", "isnull",
)  # fmt: skip
LIST_OPERATORS = ("in", "nin")
TEXT_OPERATORS = ("contains", "icontains", "startswith", "endswith")
MAX_DEPTH = 3  # references a path may go through: a.b.c.d
# What looks like a variable (the definitions' checks use the same rule).
VARIABLE = re.compile(r"^\$[A-Za-z_][A-Za-z0-9_.]*$")


def is_variable(raw: Any) -> bool:
    """`$user.id`, `$record.contact.email` are variables; `$`, `$5` or `$ off` are text."""
    return isinstance(raw, str) and VARIABLE.match(raw) is not None


def _value(raw: Any, path: tuple[str | int, ...]) -> Any:
    if is_variable(raw):
        return Var(raw)
    if isinstance(raw, dict | list):
        raise FilterError(path, f"expected a single value, got {kind_of(raw)}")
    return raw


def _operand(op: str, raw: Any, here: tuple[str | int, ...]) -> Any:
    if op in LIST_OPERATORS or op == "between":
        if is_variable(raw):
            return Var(raw)
        if not isinstance(raw, list):
            raise FilterError(here, f"'{op}' expects a list, got {kind_of(raw)}")
        if op == "between" and len(raw) != 2:
            count = f"{len(raw)} value{'' if len(raw) == 1 else 's'}"
            raise FilterError(here, f"'between' expects [low, high], got {count}")
        return tuple(_value(v, (*here, i)) for i, v in enumerate(raw))
    if op == "isnull":
        if not isinstance(raw, bool):
            shown = "null" if raw is None else repr(raw)
            raise FilterError(here, f"'isnull' expects true or false, got {shown}")
        return raw
    if raw is None:
        raise FilterError(here, f"'{op}' cannot compare with null: use {{isnull: true}}")
    if op in TEXT_OPERATORS and not isinstance(raw, str):
        raise FilterError(here, f"'{op}' expects text, got {kind_of(raw)}")
    return _value(raw, here)


def _condition(field: str, spec: Any, path: tuple[str | int, ...]) -> Node:
    if field.count(".") > MAX_DEPTH:
        depth = field.count(".")
        raise FilterError(path, f"a path goes through at most {MAX_DEPTH} references, not {depth}")
    if not field or any(not part for part in field.split(".")):
        raise FilterError(path, f"'{field}' is not a field name or a path like 'contact.name'")
    if not isinstance(spec, dict):
        return Cond(field, "eq", _operand("eq", spec, path))
    if not spec:
        raise FilterError(path, "expected {operator: value}, got an empty object")
    conds: list[Node] = []
    for op, raw in spec.items():
        here = (*path, op)
        if op not in OPERATORS:
            raise FilterError(here, f"unknown operator '{op}'{did_you_mean(str(op), OPERATORS)}")
        conds.append(Cond(field, op, _operand(op, raw, here)))
    return conds[0] if len(conds) == 1 else And(tuple(conds))


def parse_filter(raw: Any, path: tuple[str | int, ...] = ()) -> Node:
    """`{"priority": {"gte": 4}, "status": "open"}`
    → `And((Cond("priority", "gte", 4), Cond("status", "eq", "open")))`."""
    if not isinstance(raw, dict):
        raise FilterError(path, f"a filter is an object, got {kind_of(raw)}")
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
        elif not isinstance(key, str):
            raise FilterError(here, f"a field name is text, got {kind_of(key)}")
        else:
            nodes.append(_condition(key, spec, here))
    if not nodes:
        return And(())
    return nodes[0] if len(nodes) == 1 else And(tuple(nodes))
