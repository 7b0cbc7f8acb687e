"""Filters (SPEC §1.3) in role row rules and workflow `when`, checked against the entity.

The filter grammar (`runtime.filters`) parses them, as the runtime does; each condition it
returns must then name a real field (a path through at most three references), use an
operator that fits the field's type, give it a value of the field's type, and use only the
variables available where the filter is written.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time
from typing import Any

from runtime.definitions._wording import a_field, did_you_mean, one_of, show_value
from runtime.definitions.errors import Issue
from runtime.definitions.nodes import NodePath
from runtime.definitions.paths import (
    OPERATORS,
    FieldRef,
    Tables,
    check_variable,
    field_ref,
    resolve_path,
)
from runtime.fields import TYPES
from runtime.filters.ast import Cond, FilterError, Var, walk
from runtime.filters.parse import parse_filter

_TEXT = ("contains", "icontains", "startswith", "endswith")
# What each type accepts: the field-type table's, in the grammar's order.
OPERATORS_BY_TYPE: dict[str, tuple[str, ...]] = {
    name: tuple(op for op in OPERATORS if op in kind.operators) for name, kind in TYPES.items()
}
_ISO = {"date": date.fromisoformat, "time": time.fromisoformat, "datetime": datetime.fromisoformat}


def check_filter(
    node: Any, path: NodePath, *, tables: Tables, entity: str | None, scope: str
) -> Iterator[Issue]:
    """Every problem in a filter over `entity` (None: the fields cannot be known).

    The grammar's own parser finds what is malformed (worded here for configurators); what
    it returns is then checked against the entity. `scope` is "role" (user and tenant
    variables) or "workflow" (also $record, $old, $changed).
    """
    problems: list[FilterError] = []
    parsed = parse_filter(node, path, problems)
    for error in problems:
        yield _worded(error, tables, entity)
    named: set[NodePath] = set()  # field keys already checked: `{a: {gte: 1, lte: 5}}`
    for cond in walk(parsed):
        yield from _check_condition(cond, tables, entity, scope, named)


_SHAPES = {
    "list": "needs a list",
    "between": "needs a list of two values [low, high]",
    "isnull": "needs true or false",
    "text": "needs text",
    "single": "needs a single value",
}


def _worded(error: FilterError, tables: Tables, entity: str | None) -> Issue:
    """A problem the grammar found, in the words of `plinth check`."""
    code, value, field, op, path = error.code, error.value, error.field, error.op, error.path
    name = f"field '{field}' in filter"
    if code == "object":
        return Issue(path, f"a filter must be a mapping, got {show_value(value)}")
    if code == "logic":
        got = show_value(value) if value != [] else "an empty list"
        return Issue(path, f"'{path[-1]}' needs a list of one or more filters, got {got}")
    if code in ("path", "depth"):  # the same words as every other path
        problem = resolve_path(tables, entity or "", field or "", where="filter")
        return Issue(path, problem or error.message, at_key=True)
    if code == "empty":
        return Issue(path, f"{name}: empty condition, expected {{operator: value}}")
    if code == "operator":
        hint = did_you_mean(op, OPERATORS)
        ref = field_ref(tables, entity, field or "") if entity is not None else None
        if not hint and ref is not None and ref.type == "reference":
            hint = f" (for a field of '{field}', write '{field}.{op}')"
        return Issue(path, f"unknown operator '{op}' for field '{field}'{hint}", at_key=True)
    if code == "null" and op not in _TEXT:
        what = "{isnull: false}" if op == "ne" else "{isnull: true}"
        return Issue(path, f"{name}: compare with null using {what}")
    if code == "single" and op is None:
        return Issue(path, f"{name}: a list needs an operator, like {{in: [...]}}")
    if code == "single" and isinstance(path[-1], int):
        return Issue(path, f"{name}: expected a single value, got {show_value(value)}")
    if code == "null":  # a text operator: it needs text, and null is none
        code = "text"
    if code not in _SHAPES:
        return Issue(path, error.message)
    shape = _SHAPES["between" if op == "between" else code]
    got = f"a list of {len(value)}" if isinstance(value, list) else show_value(value)
    return Issue(path, f"operator '{op}' on field '{field}' {shape}, got {got}")


def _check_condition(
    cond: Cond, tables: Tables, entity: str | None, scope: str, named: set[NodePath]
) -> Iterator[Issue]:
    """One parsed condition against the entity: its field, operator and operand."""
    field, op = cond.field, cond.op
    ref: FieldRef | None = None
    if entity is not None:
        problem = resolve_path(tables, entity, field, where="filter")
        if problem and cond.field_at not in named:
            yield Issue(cond.field_at, problem, at_key=True)
        ref = None if problem else field_ref(tables, entity, field)
        named.add(cond.field_at)
    kind = ref.type if ref is not None else None  # None: not known, not checked
    allowed = OPERATORS_BY_TYPE.get(kind or "")
    if kind is not None and allowed is not None and op not in allowed:
        message = (
            f"operator '{op}' does not apply to field '{field}', {a_field(kind)} "
            f"(use {one_of(allowed)})"
        )
        yield Issue(cond.at, message, at_key=True)
        return
    if op == "isnull":
        return
    many = isinstance(cond.value, tuple)
    values = cond.value if many else (cond.value,)
    if op in _TEXT:  # a text operator's operand is a piece of text, not a value of the field
        kind = "text"
    for index, value in enumerate(values):
        at = (*cond.at, index) if many else cond.at
        if isinstance(value, Var):
            problem = check_variable(value.name, tables=tables, entity=entity, scope=scope)
            if problem:
                yield Issue(at, problem)
            continue
        problem = literal_problem(kind, ref.choices if ref is not None else (), value)
        if problem:
            yield Issue(at, f"field '{field}' in filter: {problem}")


def literal_problem(kind: str | None, choices: tuple[str, ...], value: Any) -> str | None:
    """Whether a literal can be compared with a field of type `kind`."""
    if value is None or kind is None:
        return None
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "enum" and choices and value not in choices:
        hint = did_you_mean(value, choices)
        return f"{show_value(value)} is not one of its choices {one_of(choices)}{hint}"
    if kind == "boolean" and not isinstance(value, bool):
        return f"expected true or false, got {show_value(value)}"
    if kind in ("integer", "decimal", "float") and not is_number:
        return f"expected a number, got {show_value(value)}"
    if kind in _ISO:
        try:
            _ISO[kind](value)
        except (TypeError, ValueError):
            return f"expected an ISO {kind}, or $now / $today, got {show_value(value)}"
    return None
