"""Field paths (`contact.company.name`) and variables (`$user.id`), checked against entities.

Pure functions over a `Tables` map (entity name → its fields); they return messages and never
know which file they are in. An entity whose fields are unknown (its definition is broken)
maps to None, and paths through it are not checked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from runtime.definitions._wording import a_field, did_you_mean
from runtime.filters.ast import RECORD_VARIABLES  # followed by .<field path>
from runtime.filters.parse import MAX_DEPTH as MAX_REFERENCE_DEPTH
from runtime.filters.parse import OPERATORS as OPERATORS  # the one list, for the checks
from runtime.filters.parse import VARIABLE as _VARIABLE

LOGICAL = ("and", "or", "not")
USER_VARIABLES = ("$user.id", "$user.email", "$user.roles", "$tenant.id", "$now", "$today")
WORKFLOW_VARIABLES = ("$record", "$old", "$changed")


@dataclass(frozen=True, slots=True)
class FieldRef:
    """What a path needs to know about a field: its type, a reference's target, an enum's
    choices. `type` is None for a field whose definition is broken."""

    type: str | None
    to: str | None = None
    choices: tuple[str, ...] = ()


Tables = Mapping[str, Mapping[str, FieldRef] | None]

# System columns: plain values, not references (their columns are UUIDs, not foreign keys).
SYSTEM_FIELDS: dict[str, FieldRef] = {
    "id": FieldRef("uuid"),
    "tenant_id": FieldRef("uuid"),
    "created_at": FieldRef("datetime"),
    "updated_at": FieldRef("datetime"),
    "created_by": FieldRef("uuid"),
    "updated_by": FieldRef("uuid"),
    "version": FieldRef("integer"),
}
# What a path may reach on the platform's own tables (never a password hash): the one list
# that `plinth check`, the API's filters and the admin's joins read.
BUILTIN_TABLES: dict[str, dict[str, FieldRef]] = {
    "User": {"id": FieldRef("uuid"), "email": FieldRef("email")},
    "Organization": {
        "id": FieldRef("uuid"),
        "slug": FieldRef("string"),
        "name": FieldRef("string"),
    },
}


class Step(Protocol):
    """What following a path needs of a field: a `FieldRef` here, a Model `Field` in the API."""

    @property
    def type(self) -> str | None: ...
    @property
    def to(self) -> str | None: ...


S = TypeVar("S", bound=Step)


@dataclass(frozen=True, slots=True)
class Stop(Generic[S]):
    """Where a path breaks: segment `index`, on `owner`, whose fields are `fields`; `field` is
    what the segment names when it is not a reference (None: `owner` has no such field)."""

    owner: str
    index: int
    fields: Mapping[str, S]
    field: S | None = None


def follow(
    fields_of: Callable[[str], Mapping[str, S] | None], entity: str, path: str
) -> S | Stop[S] | None:
    """The field `path` ends on, the Stop where it breaks, or None when it runs into an entity
    or a field whose definition is broken (reported where that is defined).

    The one resolver of paths: `plinth check` follows the catalog's tables (`tables.get`), the
    API what the caller may read."""
    segments = path.split(".")
    current: str | None = entity
    ref: S | None = None
    for index, segment in enumerate(segments):
        fields = fields_of(current) if current is not None else None
        if fields is None:
            return None
        ref = fields.get(segment)
        if ref is None:
            return Stop(current or entity, index, fields)
        if ref.type is None:
            return None
        if index < len(segments) - 1 and ref.type != "reference":
            return Stop(current or entity, index, fields, ref)
        current = ref.to
    return ref


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
    stop = follow(tables.get, entity, path)
    if not isinstance(stop, Stop):
        return None
    segment = segments[stop.index]
    if stop.field is not None:
        kind = a_field(stop.field.type or "")
        return f"field '{path}' in {where}: '{segment}' is {kind}, not a reference"
    hint = did_you_mean(segment, stop.fields)
    if len(segments) == 1:
        return f"field '{path}' in {where}: no such field on {stop.owner}{hint}"
    return f"field '{path}' in {where}: no field '{segment}' on {stop.owner}{hint}"


def field_ref(tables: Tables, entity: str, path: str) -> FieldRef | None:
    """The field `path` ends on, or None when it does not resolve."""
    found = follow(tables.get, entity, path)
    return found if isinstance(found, FieldRef) else None


def check_variable(value: str, *, tables: Tables, entity: str | None, scope: str) -> str | None:
    """None unless `value` looks like a variable (`$user.id`) that does not exist here.

    `scope` is "role" (user and tenant variables) or "workflow" (also $record, $old, $changed).
    """
    if not _VARIABLE.match(value) or value in USER_VARIABLES:
        return None
    head, _, rest = value.partition(".")
    if scope != "workflow":
        if head in WORKFLOW_VARIABLES:
            return f"variable '{value}' is only available in workflows"
        return f"unknown variable '{value}'{did_you_mean(value, USER_VARIABLES)}"
    if value == "$changed":
        return None
    if head in RECORD_VARIABLES and rest:
        if entity is None:
            return f"variable '{value}': this trigger has no record"
        return resolve_path(tables, entity, rest, where=f"'{value}'")
    options = (*USER_VARIABLES, "$changed", "$record.id", "$old.id")
    return f"unknown variable '{value}'{did_you_mean(value, options)}"
