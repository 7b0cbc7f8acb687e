"""Filters (SPEC §1.3) in role row rules and workflow `when`, checked against the entity.

The filter grammar (`runtime.filters`) parses them, as the runtime does; each condition it
returns must then name a real field (a path through at most three references), use an
operator that fits the field's type, give it a value of the field's type, and use only the
variables available where the filter is written, each of a type its field compares with.
In a workflow's `when` a condition may also start from `$changed`, `$user.roles`,
`$old.<path>` or `$record.<path>`; elsewhere that is refused.
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
    SYSTEM_FIELDS,
    FieldRef,
    Tables,
    check_variable,
    field_ref,
    resolve_path,
)
from runtime.fields import TYPES
from runtime.filters.ast import Cond, FilterError, Var, walk
from runtime.filters.parse import LIST_VARIABLES, RECORD_HEADS, parse_filter

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
    parsed = parse_filter(node, path, problems, left_variables=scope == "workflow")
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
    if code == "variable_left":
        return Issue(path, error.message, at_key=True)
    if code == "list_variable":
        got = show_value(value)
        return Issue(path, f"'{field}' is a list: ask it {{contains: <name>}}, got {got}")
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
    if field in LIST_VARIABLES:
        yield from _list_condition(cond, tables, entity)
        return
    head, _, rest = field.partition(".")
    ref: FieldRef | None = None
    if entity is not None:
        if head in RECORD_HEADS:  # `$old.priority`: the old record's `priority`
            problem = check_variable(field, tables=tables, entity=entity, scope=scope)
        else:
            problem, rest = resolve_path(tables, entity, field, where="filter"), field
        if problem and cond.field_at not in named:
            yield Issue(cond.field_at, problem, at_key=True)
        ref = None if problem else field_ref(tables, entity, rest)
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
            problem = check_variable(
                value.name, tables=tables, entity=entity, scope=scope
            ) or _variable_problem(field, ref, value.name, "eq" if many else op, tables, entity)
            if problem:
                yield Issue(at, problem)
            continue
        problem = literal_problem(kind, ref.choices if ref is not None else (), value)
        if problem:
            yield Issue(at, f"field '{field}' in filter: {problem}")


def _list_condition(cond: Cond, tables: Tables, entity: str | None) -> Iterator[Issue]:
    """`{$changed: {contains: priority}}` (the parser made sure of the shape): `$changed`
    lists fields of the entity."""
    fields = [n for n in tables.get(entity) or {} if n not in SYSTEM_FIELDS] if entity else []
    if cond.field == "$changed" and fields and cond.value not in fields:
        message = f"'$changed' lists fields of {entity}: no field '{cond.value}'"
        yield Issue(cond.at, message + did_you_mean(cond.value, fields))


def _variable_problem(
    field: str, ref: FieldRef | None, value: str, op: str, tables: Tables, entity: str | None
) -> str | None:
    """A variable the runtime cannot compare with this field: a list where one value is
    needed or the reverse, or a value of another type (`$now` on a date field)."""
    head, _, rest = value.partition(".")
    if head in RECORD_HEADS and rest and entity is not None:
        other = field_ref(tables, entity, rest)
        kind = other.type if other is not None else None
    else:
        kind = _VARIABLE_TYPES.get(value)
    if kind is None or ref is None or ref.type is None:
        return None
    shown = kind
    if kind == "list":
        if op not in ("in", "nin"):
            return f"field '{field}' in filter: '{value}' is a list: use it with in or nin"
        kind, shown = "string", "names"  # field names, role names
    elif op in ("in", "nin", "between"):
        return f"field '{field}' in filter: '{value}' is one value: '{op}' needs a list"
    if _family(kind) == _family(ref.type):
        return None
    hints = {("$now", "date"): "; use $today", ("$today", "datetime"): "; use $now"}
    hint = hints.get((value, ref.type), "")
    return (
        f"field '{field}' in filter: {a_field(ref.type)} cannot be compared with "
        f"'{value}' ({shown}){hint}"
    )


_VARIABLE_TYPES = {
    "$user.id": "uuid", "$tenant.id": "uuid", "$user.email": "email", "$now": "datetime",
    "$today": "date", "$user.roles": "list", "$changed": "list",
}  # fmt: skip
_FAMILIES = (("string", "text", "email", "url", "enum"), ("integer", "decimal", "float"),
             ("uuid", "reference"))  # fmt: skip


def _family(kind: str) -> str:
    """Types whose values compare with each other share a family: the text types, numbers,
    UUIDs and references; any other type is its own."""
    return next((group[0] for group in _FAMILIES if kind in group), kind)


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
