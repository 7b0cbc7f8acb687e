"""Filters as the service applies them: paths checked against the Model and what the caller
may read, values coerced to their field's type, variables bound, references loaded."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from runtime.definitions.model import SYSTEM_COLUMNS, Entity, Field, Loc, Project
from runtime.definitions.paths import BUILTIN_TABLES, SYSTEM_FIELDS, FieldRef, follow
from runtime.fields import field_type
from runtime.filters import And, Cond, FilterError, Node, Not, Or, Var, parse_filter
from runtime.filters.ast import RECORD_VARIABLES, resolve
from runtime.service.errors import FieldError, ValidationFailed
from runtime.service.values import Invalid, boolean, parse, text
from runtime.suggest import did_you_mean

CanRead = Callable[[Entity, Field], bool]
_SOMEWHERE = Loc("<platform>", 1, 1)  # system and platform fields are written nowhere


def _as_field(name: str, ref: FieldRef) -> Field:
    return Field(name=name, type=ref.type or "", loc=_SOMEWHERE, label=name, to=ref.to)


_SYSTEM = {name: _as_field(name, ref) for name, ref in SYSTEM_FIELDS.items()}
_PLATFORM = {
    owner: {name: _as_field(name, ref) for name, ref in fields.items()}
    for owner, fields in BUILTIN_TABLES.items()
}


def system_field(name: str) -> Field:
    """A system column (`id`, `created_at`, …) as a Field, for checking values of it."""
    return _SYSTEM[name]


class BadQuery(ValidationFailed):
    """A filter or sort names a field the caller cannot use, or has a malformed value."""

    status = 400
    title = "Bad query"


class _Reachable(Mapping[str, Field]):
    """The fields a caller's path may use on `entity`: its system columns and the fields the
    caller may read, never a hidden one."""

    def __init__(self, entity: Entity, can_read: CanRead | None) -> None:
        self.entity, self.can_read = entity, can_read

    def __getitem__(self, name: str) -> Field:
        system = _SYSTEM.get(name)
        if system is not None and (name != "tenant_id" or self.entity.tenant_scoped):
            return system
        field = self.entity.by_name[name]
        if field.hidden or (self.can_read is not None and not self.can_read(self.entity, field)):
            raise KeyError(name)
        return field

    def __iter__(self) -> Iterator[str]:
        names = [*SYSTEM_COLUMNS, *(f.name for f in self.entity.fields)]
        return (name for name in names if name in self)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def resolve_path(
    project: Project, entity: Entity, path: str, can_read: CanRead | None = None
) -> Field:
    """The field a dotted path ends on: `contact.company.name` on Ticket → Company.name.

    Raises BadQuery naming the path when a step is missing, hidden or unreadable."""

    def fields_of(owner: str) -> Mapping[str, Field] | None:
        target = project.entities.get(owner)
        return _Reachable(target, can_read) if target is not None else _PLATFORM.get(owner)

    found = follow(fields_of, entity.name, path)
    if isinstance(found, Field):
        return found
    if found is None:  # a reference to what the Model does not have
        raise BadQuery([FieldError(path, "unknown_field", f"'{path}' names no field")])
    name = path.split(".")[found.index]
    if found.field is not None:
        raise BadQuery([FieldError(path, "not_reference", f"'{name}' is not a reference")])
    message = f"{found.owner} has no field '{name}'{did_you_mean(name, found.fields)}"
    raise BadQuery([FieldError(path, "unknown_field", message)])


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
        case Cond(path, op, value) if path.startswith("$"):  # a `when`: {$old.priority: …}
            head, _, rest = path.partition(".")
            if head not in RECORD_VARIABLES or not rest:  # $changed, $user.roles: names
                return Cond(path, op, _bound(path, value, variables))
            inner = typed(project, entity, Cond(rest, op, value), variables, can_read)
            assert isinstance(inner, Cond)  # typing a Cond gives a Cond
            return Cond(path, op, inner.value)
        case Cond(path, op, value):
            field = resolve_path(project, entity, path, can_read)
            _check_operator(field, path, op)
            bound = _bound(path, value, variables)
            return Cond(path, op, coerce_operand(field, op, bound, path))
    raise TypeError(node)


def _bound(path: str, value: Any, variables: dict[str, Any]) -> Any:
    try:
        return resolve(value, variables)
    except FilterError as error:
        raise BadQuery([FieldError(path, "variable", error.message)]) from None


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
    "system_field",
    "typed",
]
