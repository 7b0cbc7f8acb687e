"""Field paths (`contact.company.name`), filters and variables, checked against entities.

Pure functions over a `Tables` map (entity name → its fields); they return messages or
`Issue`s and never know which file they are in. An entity whose fields are unknown (its
definition is broken) maps to None, and paths through it are not checked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from runtime.definitions._wording import a_field, did_you_mean, show_value
from runtime.definitions.errors import Issue
from runtime.definitions.loader import NodePath

MAX_REFERENCE_DEPTH = 3  # a path may go through at most this many references
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
LOGICAL = ("and", "or", "not")
USER_VARIABLES = ("$user.id", "$user.email", "$user.roles", "$tenant.id", "$now", "$today")
RECORD_VARIABLES = ("$record", "$old")  # followed by .<field path>
_VARIABLE = re.compile(r"^\$[A-Za-z_][A-Za-z0-9_.]*$")


@dataclass(frozen=True, slots=True)
class FieldRef:
    """What a path needs to know about a field: its type and, for references, the target."""

    type: str | None
    to: str | None = None


Tables = Mapping[str, Mapping[str, FieldRef] | None]

SYSTEM_FIELDS: dict[str, FieldRef] = {
    "id": FieldRef("uuid"),
    "tenant_id": FieldRef("reference", "Organization"),
    "created_at": FieldRef("datetime"),
    "updated_at": FieldRef("datetime"),
    "created_by": FieldRef("reference", "User"),
    "updated_by": FieldRef("reference", "User"),
    "version": FieldRef("integer"),
}
BUILTIN_TABLES: dict[str, dict[str, FieldRef]] = {
    "User": {"id": FieldRef("uuid"), "email": FieldRef("email"), "name": FieldRef("string")},
    "Organization": {"id": FieldRef("uuid"), "name": FieldRef("string")},
}


def resolve_path(tables: Tables, entity: str, path: str, *, where: str) -> str | None:
    """None when `path` names a field of `entity` (through references), else what is wrong.

    >>> resolve_path(tables, "Ticket", "asignee", where="filter")
    "field 'asignee' in filter: no such field on Ticket (did you mean 'assignee'?)"
    """
    segments = path.split(".")
    if not all(segments):
        return f"field '{path}' in {where}: not a valid field path"
    if len(segments) - 1 > MAX_REFERENCE_DEPTH:
        return (
            f"field '{path}' in {where}: a path may go through at most "
            f"{MAX_REFERENCE_DEPTH} references"
        )
    current: str | None = entity
    for number, segment in enumerate(segments):
        fields = tables.get(current) if current is not None else None
        if fields is None:
            return None  # unknown target: reported where the reference is defined
        ref = fields.get(segment)
        if ref is None:
            hint = did_you_mean(segment, fields)
            if len(segments) == 1:
                return f"field '{path}' in {where}: no such field on {current}{hint}"
            return f"field '{path}' in {where}: no field '{segment}' on {current}{hint}"
        if ref.type is None:
            return None  # a broken field: reported where it is defined
        if number < len(segments) - 1 and ref.type != "reference":
            return f"field '{path}' in {where}: '{segment}' is {a_field(ref.type)}, not a reference"
        current = ref.to
    return None


def field_ref(tables: Tables, entity: str, path: str) -> FieldRef | None:
    """The field `path` ends on, or None when it does not resolve."""
    current: str | None = entity
    ref: FieldRef | None = None
    for segment in path.split("."):
        fields = tables.get(current) if current is not None else None
        ref = fields.get(segment) if fields is not None else None
        if ref is None:
            return None
        current = ref.to
    return ref


def check_filter(
    node: Any, path: NodePath, *, tables: Tables, entity: str | None, scope: str
) -> Iterator[Issue]:
    """Every problem in a filter: unknown fields and operators, misshapen values, variables.

    `scope` is "role" (user and tenant variables) or "workflow" (also $record, $old, $changed).
    """
    if not isinstance(node, dict):
        yield Issue(path, f"a filter must be a mapping, got {show_value(node)}")
        return
    for key, value in node.items():
        here = (*path, key)
        if key in ("and", "or"):
            yield from _check_group(key, value, here, tables=tables, entity=entity, scope=scope)
        elif key == "not":
            yield from check_filter(value, here, tables=tables, entity=entity, scope=scope)
        else:
            if entity is not None:
                problem = resolve_path(tables, entity, key, where="filter")
                if problem:
                    yield Issue(here, problem, at_key=True)
            yield from _check_condition(key, value, here, tables=tables, entity=entity, scope=scope)


def _check_group(
    key: str, value: Any, path: NodePath, *, tables: Tables, entity: str | None, scope: str
) -> Iterator[Issue]:
    if not isinstance(value, list) or not value:
        yield Issue(path, f"'{key}' needs a list of filters, got {show_value(value)}")
        return
    for index, item in enumerate(value):
        yield from check_filter(item, (*path, index), tables=tables, entity=entity, scope=scope)


def _check_condition(
    field: str, value: Any, path: NodePath, *, tables: Tables, entity: str | None, scope: str
) -> Iterator[Issue]:
    """`{status: open}` or `{priority: {gte: 3}}`: the part after the field path."""
    if isinstance(value, list):
        yield Issue(
            path, f"field '{field}' in filter: a list needs an operator, like {{in: [...]}}"
        )
        return
    if not isinstance(value, dict):
        yield from _check_value(value, path, tables=tables, entity=entity, scope=scope)
        return
    if not value:
        yield Issue(
            path, f"field '{field}' in filter: empty condition, expected {{operator: value}}"
        )
    for op, arg in value.items():
        here = (*path, op)
        if op not in OPERATORS:
            hint = did_you_mean(op, OPERATORS)
            ref = field_ref(tables, entity, field) if entity is not None else None
            if not hint and ref is not None and ref.type == "reference":
                hint = f" (for a field of '{field}', write '{field}.{op}')"
            yield Issue(here, f"unknown operator '{op}' for field '{field}'{hint}", at_key=True)
            continue
        shape = _operand_problem(op, arg)
        if shape:
            yield Issue(here, f"operator '{op}' on field '{field}' {shape}, got {show_value(arg)}")
            continue
        for index, item in enumerate(arg) if isinstance(arg, list) else [(None, arg)]:
            at = here if index is None else (*here, index)
            yield from _check_value(item, at, tables=tables, entity=entity, scope=scope)


def _operand_problem(op: str, arg: Any) -> str | None:
    if op in ("in", "nin"):
        return None if isinstance(arg, list) else "needs a list"
    if op == "between":
        ok = isinstance(arg, list) and len(arg) == 2
        return None if ok else "needs a list of two values [low, high]"
    if op == "isnull":
        return None if isinstance(arg, bool) else "needs true or false"
    if isinstance(arg, list | dict):
        return "needs a single value"
    if op in ("contains", "icontains", "startswith", "endswith") and not isinstance(arg, str):
        return "needs text"
    return None


def _check_value(
    value: Any, path: NodePath, *, tables: Tables, entity: str | None, scope: str
) -> Iterator[Issue]:
    if isinstance(value, str):
        problem = check_variable(value, tables=tables, entity=entity, scope=scope)
        if problem:
            yield Issue(path, problem)


def check_variable(value: str, *, tables: Tables, entity: str | None, scope: str) -> str | None:
    """None unless `value` looks like a variable (`$user.id`) that does not exist."""
    if not _VARIABLE.match(value) or value in USER_VARIABLES:
        return None
    if scope == "workflow":
        if value == "$changed":
            return None
        head, _, rest = value.partition(".")
        if head in RECORD_VARIABLES and rest:
            if entity is None:
                return f"variable '{value}': this trigger has no record"
            return resolve_path(tables, entity, rest, where=f"'{value}'")
    options = (
        USER_VARIABLES
        if scope != "workflow"
        else (*USER_VARIABLES, "$changed", "$record.id", "$old.id")
    )
    return f"unknown variable '{value}'{did_you_mean(value, options)}"
