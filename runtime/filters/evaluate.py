"""Evaluate a filter AST on one record in memory, with the semantics of its SQL: a comparison
with NULL is false, `not` of it is true, a path through a missing reference is NULL."""

from __future__ import annotations

from typing import Any

from runtime.filters.ast import And, Cond, Node, Not, Or, Var, lookup, resolve
from runtime.filters.text import fold


def _left(cond: Cond, record: dict[str, Any], variables: dict[str, Any]) -> Any:
    """What a condition compares: the record's field, or (in a workflow's `when`) a variable
    such as `$changed` or `$old.priority`; `$record.<path>` is the record's `<path>`."""
    head, _, rest = cond.field.partition(".")
    if not head.startswith("$"):
        return lookup(record, cond.field)
    if head == "$record" and rest:
        return lookup(record, rest)
    return resolve(Var(cond.field), variables)


def _compare(op: str, left: Any, right: Any) -> bool:
    if op == "isnull":
        return (left is None) == bool(right)
    if left is None:
        return False
    match op:
        case "in":
            return any(v is not None and left == v for v in right)
        case "nin":
            return None not in right and all(left != v for v in right)
        case "between":
            return None not in right and right[0] <= left <= right[1]
        case "contains":
            return right in left
        case "icontains":
            return fold(right) in fold(left)
        case "startswith":
            return bool(left.startswith(right))
        case "endswith":
            return bool(left.endswith(right))
    if right is None:
        return False
    match op:
        case "eq":
            return bool(left == right)
        case "ne":
            return bool(left != right)
        case "gt":
            return bool(left > right)
        case "gte":
            return bool(left >= right)
        case "lt":
            return bool(left < right)
        case "lte":
            return bool(left <= right)
    raise ValueError(f"unknown operator {op!r}")


def evaluate(node: Node, record: dict[str, Any], variables: dict[str, Any] | None = None) -> bool:
    """Does `record` (references loaded as nested dicts where paths go through them) match?"""
    variables = variables or {}
    match node:
        case And(children):
            return all(evaluate(c, record, variables) for c in children)
        case Or(children):
            return any(evaluate(c, record, variables) for c in children)
        case Not(child):
            return not evaluate(child, record, variables)
        case Cond(_, op, value):
            return _compare(op, _left(node, record, variables), resolve(value, variables))
    raise TypeError(f"not a filter node: {node!r}")


__all__ = ["evaluate", "lookup"]
