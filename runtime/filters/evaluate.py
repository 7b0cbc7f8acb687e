"""Evaluate a filter AST on one record in memory, with SQL's semantics (NULL never matches
a comparison)."""

from __future__ import annotations

from typing import Any

from runtime.filters.ast import And, Cond, Node, Not, Or, resolve


def _lookup(record: dict[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _compare(op: str, left: Any, right: Any) -> bool:
    if op == "isnull":
        return (left is None) == bool(right)
    if left is None:
        return False
    match op:
        case "eq":
            return right is not None and left == right
        case "ne":
            return right is not None and left != right
        case "gt":
            return left > right
        case "gte":
            return left >= right
        case "lt":
            return left < right
        case "lte":
            return left <= right
        case "in":
            return left in right
        case "nin":
            return left not in right
        case "between":
            return right[0] <= left <= right[1]
        case "contains":
            return str(right) in str(left)
        case "icontains":
            return str(right).casefold() in str(left).casefold()
        case "startswith":
            return str(left).startswith(str(right))
        case "endswith":
            return str(left).endswith(str(right))
    raise ValueError(f"unknown operator {op!r}")


def evaluate(node: Node, record: dict[str, Any], variables: dict[str, Any] | None = None) -> bool:
    variables = variables or {}
    match node:
        case And(children):
            return all(evaluate(c, record, variables) for c in children)
        case Or(children):
            return any(evaluate(c, record, variables) for c in children)
        case Not(child):
            return not evaluate(child, record, variables)
        case Cond(field, op, value):
            return _compare(op, _lookup(record, field), resolve(value, variables))
    raise TypeError(f"not a filter node: {node!r}")
