"""Filters from callers (API query strings, admin): checked against what the caller may read,
values coerced to their field's type, before they are compiled to SQL."""

from __future__ import annotations

from typing import Any

from runtime.access import Policy
from runtime.definitions.model import SYSTEM_COLUMNS, Entity, Field
from runtime.filters import And, Cond, FilterError, Node, Not, Or, Var, parse_filter
from runtime.service.errors import FieldError, ValidationFailed
from runtime.service.values import Invalid, coerce

_SYSTEM_TYPES = {
    "id": "uuid",
    "tenant_id": "uuid",
    "created_by": "uuid",
    "updated_by": "uuid",
    "created_at": "datetime",
    "updated_at": "datetime",
    "version": "integer",
}


class BadQuery(ValidationFailed):
    """A filter or sort names a field the caller cannot use, or has a malformed value."""

    status = 400
    title = "Bad query"


def queryable_field(entity: Entity, policy: Policy, name: str) -> Field:
    """The field `name` if the caller may filter or sort on it (readable, not hidden)."""
    if name in SYSTEM_COLUMNS and (name != "tenant_id" or entity.tenant_scoped):
        return Field(name=name, type=_SYSTEM_TYPES[name], loc=entity.loc, label=name)
    field = entity.field(name)
    readable = policy.read_fields is None or name in policy.read_fields
    if field is None or field.hidden or not readable:
        raise BadQuery([FieldError(name, "unknown_field", f"{entity.name} has no field '{name}'")])
    return field


def _coerce_value(field: Field, op: str, value: Any) -> Any:
    if isinstance(value, Var) or op == "isnull":
        return value
    if isinstance(value, tuple):
        return tuple(_coerce_value(field, "eq", v) for v in value)
    if op in ("contains", "icontains", "startswith", "endswith"):
        return str(value)
    if field.type == "enum":
        return str(value)  # a value outside the choices simply matches nothing
    if field.type == "boolean" and isinstance(value, str):
        return value.lower() in ("true", "1", "yes")
    try:
        return coerce(field, value) if field.type != "reference" or value else value
    except Invalid as error:
        raise BadQuery([FieldError(field.name, error.code, str(error))]) from None


def _check(entity: Entity, policy: Policy, node: Node) -> Node:
    match node:
        case And(children):
            return And(tuple(_check(entity, policy, c) for c in children))
        case Or(children):
            return Or(tuple(_check(entity, policy, c) for c in children))
        case Not(child):
            return Not(_check(entity, policy, child))
        case Cond(name, op, value):
            if "." in name:
                raise BadQuery(
                    [
                        FieldError(
                            name,
                            "unsupported",
                            "paths through references are not supported in API filters yet",
                        )
                    ]
                )
            field = queryable_field(entity, policy, name)
            if field.type in ("json", "file") and op not in ("isnull",):
                raise BadQuery(
                    [FieldError(name, "operator", f"'{op}' does not apply to {field.type}")]
                )
            return Cond(name, op, _coerce_value(field, op, value))
    raise TypeError(node)


def prepare_filter(entity: Entity, policy: Policy, raw: Any) -> Node:
    try:
        node = parse_filter(raw)
    except FilterError as error:
        raise BadQuery(
            [FieldError(".".join(map(str, error.path)) or "filter", "filter", error.message)]
        ) from None
    return _check(entity, policy, node)
