"""Filters (SPEC §1.3) in role row rules and workflow `when`, checked against the entity.

Each condition must name a real field (a path through at most three references), use an
operator that fits the field's type, give the operator a value of the right shape and type,
and use only the variables available where the filter is written.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time
from typing import Any

from runtime.definitions._wording import a_field, did_you_mean, one_of, show_value
from runtime.definitions.errors import Issue
from runtime.definitions.loader import NodePath
from runtime.definitions.paths import (
    OPERATORS,
    SYSTEM_FIELDS,
    FieldRef,
    Tables,
    check_variable,
    field_ref,
    resolve_path,
)

_EQUALITY = ("eq", "ne", "in", "nin", "isnull")
_ORDER = ("gt", "gte", "lt", "lte", "between")
_TEXT = ("contains", "icontains", "startswith", "endswith")
_BY_KIND = {
    "text": _EQUALITY + _ORDER + _TEXT,
    "ordered": _EQUALITY + _ORDER,
    "equality": _EQUALITY,
    "null": ("isnull",),
}
_KIND_OF_TYPE = {
    **dict.fromkeys(("string", "text", "email", "url"), "text"),
    **dict.fromkeys(("integer", "decimal", "float", "date", "datetime", "time"), "ordered"),
    **dict.fromkeys(("boolean", "enum", "uuid", "reference"), "equality"),
    **dict.fromkeys(("json", "file"), "null"),
}
OPERATORS_BY_TYPE: dict[str, tuple[str, ...]] = {
    kind: tuple(op for op in OPERATORS if op in _BY_KIND[group])
    for kind, group in _KIND_OF_TYPE.items()
}
_ISO = {"date": date.fromisoformat, "time": time.fromisoformat, "datetime": datetime.fromisoformat}


def check_filter(
    node: Any, path: NodePath, *, tables: Tables, entity: str | None, scope: str
) -> Iterator[Issue]:
    """Every problem in a filter over `entity` (None: the fields cannot be known).

    `scope` is "role" (user and tenant variables) or "workflow" (also $record, $old, $changed).
    """
    if not isinstance(node, dict):
        yield Issue(path, f"a filter must be a mapping, got {show_value(node)}")
        return
    for key, value in node.items():
        here = (*path, key)
        if key in ("and", "or"):
            if not isinstance(value, list) or not value:
                got = show_value(value) if value != [] else "an empty list"
                yield Issue(here, f"'{key}' needs a list of one or more filters, got {got}")
                continue
            for index, item in enumerate(value):
                yield from check_filter(
                    item, (*here, index), tables=tables, entity=entity, scope=scope
                )
        elif key == "not":
            yield from check_filter(value, here, tables=tables, entity=entity, scope=scope)
        elif isinstance(key, str) and key.startswith("$"):
            yield from _variable_condition(key, value, here, tables, entity, scope)
        else:
            ref = None
            if entity is not None:
                problem = resolve_path(tables, entity, key, where="filter")
                if problem:
                    yield Issue(here, problem, at_key=True)
                else:
                    ref = field_ref(tables, entity, key)
            condition = _Condition(key, ref, tables, entity, scope)
            yield from condition.check(value, here)


_LIST_VARIABLES = ("$changed", "$user.roles")  # lists a `when` may ask {contains: …}


def _variable_condition(
    key: str, value: Any, path: NodePath, tables: Tables, entity: str | None, scope: str
) -> Iterator[Issue]:
    """`{$changed: {contains: priority}}`, `{$old.status: open}`: in a workflow's `when` a
    condition may start from a list variable, or from the old (or new) record."""
    head, _, rest = key.partition(".")
    on_record = head in ("$record", "$old") and bool(rest)
    if scope != "workflow" or not (key in _LIST_VARIABLES or on_record):
        message = (
            f"a condition cannot start from '{key}': only $changed, $user.roles, "
            "$old.<path> and $record.<path> can, in a workflow's 'when'"
        )
        yield Issue(path, message, at_key=True)
        return
    if key in _LIST_VARIABLES:
        item = value.get("contains") if isinstance(value, dict) and len(value) == 1 else None
        fields = [n for n in tables.get(entity) or {} if n not in SYSTEM_FIELDS] if entity else []
        if not isinstance(item, str):
            got = show_value(value)
            yield Issue(path, f"'{key}' is a list: ask it {{contains: <name>}}, got {got}")
        elif key == "$changed" and fields and item not in fields:
            message = f"'$changed' lists fields of {entity}: no field '{item}'"
            yield Issue((*path, "contains"), message + did_you_mean(item, fields))
        return
    problem = check_variable(key, tables=tables, entity=entity, scope=scope)
    if problem:
        yield Issue(path, problem, at_key=True)
        return
    ref = field_ref(tables, entity, rest) if entity is not None else None
    yield from _Condition(key, ref, tables, entity, scope).check(value, path)


class _Condition:
    """`{status: open}` or `{priority: {gte: 3}}`: the part after one field path."""

    def __init__(
        self, field: str, ref: FieldRef | None, tables: Tables, entity: str | None, scope: str
    ) -> None:
        self.field = field
        self.type = ref.type if ref is not None else None  # None: not known, not checked
        self.choices = ref.choices if ref is not None else ()
        self.tables, self.entity, self.scope = tables, entity, scope

    def check(self, value: Any, path: NodePath) -> Iterator[Issue]:
        name = f"field '{self.field}' in filter"
        if isinstance(value, list):
            yield Issue(path, f"{name}: a list needs an operator, like {{in: [...]}}")
        elif not isinstance(value, dict):
            yield from self._operand("eq", value, path)
        elif not value:
            yield Issue(path, f"{name}: empty condition, expected {{operator: value}}")
        else:
            for op, arg in value.items():
                yield from self._operator(op, arg, (*path, op))

    def _operator(self, op: str, arg: Any, path: NodePath) -> Iterator[Issue]:
        field = self.field
        if op not in OPERATORS:
            hint = did_you_mean(op, OPERATORS)
            if not hint and self.type == "reference":
                hint = f" (for a field of '{field}', write '{field}.{op}')"
            yield Issue(path, f"unknown operator '{op}' for field '{field}'{hint}", at_key=True)
            return
        allowed = OPERATORS_BY_TYPE.get(self.type or "")
        if allowed is not None and op not in allowed:
            message = (
                f"operator '{op}' does not apply to field '{field}', {a_field(self.type or '')} "
                f"(use {one_of(allowed)})"
            )
            yield Issue(path, message, at_key=True)
            return
        shape = _shape_problem(op, arg)
        if shape:
            got = f"a list of {len(arg)}" if isinstance(arg, list) else show_value(arg)
            yield Issue(path, f"operator '{op}' on field '{field}' {shape}, got {got}")
        elif op != "isnull":
            yield from self._operand(op, arg, path)

    def _operand(self, op: str, arg: Any, path: NodePath) -> Iterator[Issue]:
        if isinstance(arg, list):
            for index, item in enumerate(arg):
                yield from self._value(item, (*path, index))
        elif arg is None and op in ("eq", "ne"):
            what = "{isnull: true}" if op == "eq" else "{isnull: false}"
            yield Issue(path, f"field '{self.field}' in filter: compare with null using {what}")
        else:
            yield from self._value(arg, path, op)

    def _value(self, value: Any, path: NodePath, op: str = "eq") -> Iterator[Issue]:
        if isinstance(value, str) and value.startswith("$"):
            problem = check_variable(
                value, tables=self.tables, entity=self.entity, scope=self.scope
            ) or self._variable_problem(value, op)
            if problem:
                yield Issue(path, problem)
            return
        problem = literal_problem(self.type, self.choices, value)
        if problem:
            yield Issue(path, f"field '{self.field}' in filter: {problem}")

    def _variable_problem(self, value: str, op: str) -> str | None:
        """A variable the runtime cannot compare with this field: a list where one value is
        needed or the reverse, or a value of another type (`$now` on a date field)."""
        head, _, rest = value.partition(".")
        if head in ("$record", "$old") and rest and self.entity is not None:
            ref = field_ref(self.tables, self.entity, rest)
            kind = ref.type if ref is not None else None
        else:
            kind = _VARIABLE_TYPES.get(value)
        if kind is None or self.type is None:
            return None
        shown = kind
        if kind == "list":
            if op not in ("in", "nin"):
                return f"field '{self.field}' in filter: '{value}' is a list: use it with in or nin"
            kind, shown = "string", "names"  # field names, role names
        elif op in ("in", "nin", "between"):
            return f"field '{self.field}' in filter: '{value}' is one value: '{op}' needs a list"
        if _family(kind) == _family(self.type):
            return None
        hints = {("$now", "date"): "; use $today", ("$today", "datetime"): "; use $now"}
        hint = hints.get((value, self.type), "")
        return (
            f"field '{self.field}' in filter: {a_field(self.type)} cannot be compared with "
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


def _shape_problem(op: str, arg: Any) -> str | None:
    """What is wrong with the operand's shape; a variable (`$user.roles`) fits any list."""
    if isinstance(arg, str) and arg.startswith("$") and op in ("in", "nin", "between"):
        return None
    if op in ("in", "nin"):
        return None if isinstance(arg, list) else "needs a list"
    if op == "between":
        ok = isinstance(arg, list) and len(arg) == 2
        return None if ok else "needs a list of two values [low, high]"
    if op == "isnull":
        return None if isinstance(arg, bool) else "needs true or false"
    if isinstance(arg, list | dict):
        return "needs a single value"
    if op in _TEXT and not isinstance(arg, str):
        return "needs text"
    return None


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
