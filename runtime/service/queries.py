"""Filters as the service applies them: paths checked against the Model and what the caller
may read, values coerced to their field's type, variables bound, references loaded."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from runtime.definitions.model import SYSTEM_COLUMNS, Entity, Field, Project
from runtime.fields import field_type
from runtime.filters import And, Cond, FilterError, Node, Not, Or, Var, parse_filter
from runtime.filters.ast import resolve
from runtime.service.errors import FieldError, ValidationFailed
from runtime.service.values import Invalid, boolean, parse, text
from runtime.suggest import did_you_mean

_SYSTEM_TYPES = {
    "id": "uuid", "tenant_id": "uuid", "created_by": "uuid", "updated_by": "uuid",
    "created_at": "datetime", "updated_at": "datetime", "version": "integer",
}  # fmt: skip
# What a path may reach on the platform's own tables.
_PLATFORM_FIELDS = {
    "User": {"id": "uuid", "email": "email"},
    "Organization": {"id": "uuid", "name": "string"},
}
CanRead = Callable[[Entity, Field], bool]


class BadQuery(ValidationFailed):
    """A filter or sort names a field the caller cannot use, or has a malformed value."""

    status = 400
    title = "Bad query"


def _system_field(entity: Entity, name: str) -> Field | None:
    if name in SYSTEM_COLUMNS and (name != "tenant_id" or entity.tenant_scoped):
        return Field(name=name, type=_SYSTEM_TYPES[name], loc=entity.loc, label=name)
    return None


def _visible(entity: Entity | str, can_read: CanRead | None) -> list[str]:
    """The names a path may use on `entity` (never a hidden or unreadable field)."""
    if isinstance(entity, str):
        return list(_PLATFORM_FIELDS[entity])
    names = [name for name in SYSTEM_COLUMNS if _system_field(entity, name)]
    for field in entity.fields:
        if not field.hidden and (can_read is None or can_read(entity, field)):
            names.append(field.name)
    return names


def resolve_path(
    project: Project, entity: Entity, path: str, can_read: CanRead | None = None
) -> Field:
    """The field a dotted path ends on: `contact.company.name` on Ticket → Company.name.

    Raises BadQuery naming the path when a step is missing, hidden or unreadable."""
    current: Entity | str = entity
    field: Field | None = None
    for step, name in enumerate(path.split(".")):
        if isinstance(current, str):  # User / Organization
            kind = _PLATFORM_FIELDS[current].get(name)
            field = Field(name=name, type=kind, loc=entity.loc, label=name) if kind else None
        else:
            field = _system_field(current, name) or current.field(name)
            if field is not None and not _system_field(current, name):
                readable = can_read is None or can_read(current, field)
                if field.hidden or not readable:
                    field = None
        if field is None:
            owner = current if isinstance(current, str) else current.name
            hint = did_you_mean(name, _visible(current, can_read))
            message = f"{owner} has no field '{name}'{hint}"
            raise BadQuery([FieldError(path, "unknown_field", message)])
        last = step == path.count(".")
        if not last:
            if field.type != "reference" or field.to is None:
                raise BadQuery([FieldError(path, "not_reference", f"'{name}' is not a reference")])
            current = project.entities.get(field.to) or field.to
    assert field is not None
    return field


def coerce_operand(field: Field, op: str, value: Any, path: str | None = None) -> Any:
    """A filter operand → the Python value its column compares with."""
    if op == "isnull" or value is None:
        return value
    if isinstance(value, tuple | list):
        return tuple(coerce_operand(field, "eq", v, path) for v in value)
    try:
        if op in ("contains", "icontains", "startswith", "endswith") or field.type == "enum":
            return text(str(value))  # an enum value outside the choices matches nothing
        if field.type == "boolean":
            return boolean(value)
        return parse(field, value)  # type only: bounds do not apply to filter values
    except Invalid as error:
        raise BadQuery([FieldError(path or field.name, error.code, str(error))]) from None


def _check_operator(field: Field, path: str, op: str) -> None:
    """The operators of the field's type in the field-type table (runtime.fields)."""
    if op in field_type(field.type).operators:
        return
    if op in ("contains", "icontains", "startswith", "endswith"):
        raise BadQuery([FieldError(path, "operator", f"'{op}' applies to text, not {field.type}")])
    raise BadQuery([FieldError(path, "operator", f"'{op}' does not apply to {field.type}")])


def typed(
    project: Project,
    entity: Entity,
    node: Node,
    variables: dict[str, Any],
    can_read: CanRead | None = None,
) -> Node:
    """`node` with every path checked, variables bound and operands coerced."""
    match node:
        case And(children):
            return And(tuple(typed(project, entity, c, variables, can_read) for c in children))
        case Or(children):
            return Or(tuple(typed(project, entity, c, variables, can_read) for c in children))
        case Not(child):
            return Not(typed(project, entity, child, variables, can_read))
        case Cond(path, op, value):
            field = resolve_path(project, entity, path, can_read)
            _check_operator(field, path, op)
            try:
                bound = resolve(value, variables)
            except FilterError as error:
                raise BadQuery([FieldError(path, "variable", error.message)]) from None
            return Cond(path, op, coerce_operand(field, op, bound, path))
    raise TypeError(node)


def parse_query_filter(raw: Any) -> Node:
    try:
        return parse_filter(raw)
    except FilterError as error:
        where = ".".join(map(str, error.path)) or "filter"
        raise BadQuery([FieldError(where, "filter", error.message)]) from None


def paths(node: Node) -> set[str]:
    """The reference paths a filter goes through ({"contact", "contact.company"})."""
    from runtime.filters.ast import walk

    out: set[str] = set()
    for cond in walk(node):
        parts = cond.field.split(".")
        out.update(".".join(parts[:i]) for i in range(1, len(parts)))
    return out


__all__ = [
    "BadQuery",
    "Var",
    "coerce_operand",
    "parse_query_filter",
    "paths",
    "resolve_path",
    "typed",
]
