"""Field paths (`contact.company.name`) and variables (`$user.id`), checked against entities.

Pure functions over a `Tables` map (entity name → its fields); they return messages and never
know which file they are in. An entity whose fields are unknown (its definition is broken)
maps to None, and paths through it are not checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

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
