"""The checks of a write that read the database: references name rows the caller can read,
unique values are free (per organization for tenant-scoped entities)."""

from __future__ import annotations

from typing import Any

from runtime.definitions.model import Entity, Field, Project
from runtime.service.errors import FieldError, UniqueConflict, ValidationFailed
from runtime.service.queries import paths
from runtime.service.scope import CallerScope
from runtime.service.values import to_json


def reads_before_create(scope: CallerScope, entity: Entity, row: dict[str, Any]) -> bool:
    """Whether a create must read before it writes: a reference to check, a unique value
    to look for, or a create rule that goes through references."""
    rule = scope.rule(entity, "create")
    through = not isinstance(rule, bool) and bool(paths(rule))
    return through or bool(_references(scope.project, entity, row) or _unique_groups(entity, row))


async def check_references(scope: CallerScope, entity: Entity, values: dict[str, Any]) -> None:
    """A reference must name a record the caller can read in the same organization."""
    errors = []
    for field, target in _references(scope.project, entity, values):
        target_id = values[field.name]
        if await scope.fetch(target, target_id) is None:
            errors.append(
                FieldError(field.name, "reference", f"no {target.name} with id {target_id}")
            )
    if errors:
        raise ValidationFailed(errors)


async def check_unique(scope: CallerScope, entity: Entity, row: dict[str, Any]) -> None:
    """Unique fields and unique indexes, per organization for tenant-scoped entities."""
    table = scope.registry.table(entity)
    errors = []
    for names in _unique_groups(entity, row):
        query = table.exists().where(table.id != row["id"])
        if entity.tenant_scoped:
            query = query.where(table.tenant_id == row["tenant_id"])
        for name in names:
            query = query.where(getattr(table, name) == row[name])
        if await query.run():
            shown = ", ".join(f"{n} = {to_json(row[n])!r}" for n in names)
            errors.append(FieldError(names[0], "unique", f"another {entity.name} has {shown}"))
    if errors:
        raise UniqueConflict(errors)


def _references(
    project: Project, entity: Entity, values: dict[str, Any]
) -> list[tuple[Field, Entity]]:
    """The reference fields given a value whose target must be checked."""
    out = []
    for field in entity.fields:
        target = project.entities.get(field.to or "")
        if field.type == "reference" and values.get(field.name) is not None and target:
            out.append((field, target))
    return out


def _unique_groups(entity: Entity, row: dict[str, Any]) -> list[tuple[str, ...]]:
    """Unique fields and unique indexes whose values are all given in `row`."""
    groups: list[tuple[str, ...]] = [(f.name,) for f in entity.fields if f.unique]
    groups += [tuple(index.fields) for index in entity.indexes if index.unique]
    return [names for names in groups if all(row.get(n) is not None for n in names)]
