"""The Registry: every Piccolo table class of one project on one engine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from piccolo.engine.base import Engine
from piccolo.table import Table

from runtime.definitions.model import Entity, Project
from runtime.schema.entities import DataTable as DataTable  # the type callers name
from runtime.schema.entities import build_entity_table
from runtime.schema.platform import build_platform_tables


@dataclass(frozen=True)
class Registry:
    project: Project
    engine: Engine[Any]
    user: DataTable
    organization: DataTable
    membership: DataTable
    session: DataTable
    refresh_token: DataTable
    api_token: DataTable
    timeline: DataTable
    outbox: DataTable
    workflow_run: DataTable
    schedule_tick: DataTable
    totp: DataTable
    import_job: DataTable
    entities: dict[str, DataTable]

    def table(self, entity: Entity | str) -> DataTable:
        return self.entities[entity if isinstance(entity, str) else entity.name]

    def entity_of_table(self, table: type[Table]) -> str:
        """The entity name whose table this is: `Ticket` for the ticket table."""
        for name, candidate in self.entities.items():
            if candidate is table:
                return name
        raise KeyError(f"{table.__name__} is not an entity table")

    def platform_tables(self) -> list[type[Table]]:
        return [
            self.user,
            self.organization,
            self.membership,
            self.session,
            self.refresh_token,
            self.api_token,
            self.timeline,
            self.outbox,
            self.workflow_run,
            self.schedule_tick,
            self.totp,
            self.import_job,
        ]

    def all_tables(self) -> list[type[Table]]:
        return self.platform_tables() + list(self.entities.values())


def dependency_order(project: Project) -> list[Entity]:
    """Entities ordered so that each comes after the entities it references."""
    done: dict[str, Entity] = {}

    def visit(entity: Entity, path: tuple[str, ...]) -> None:
        if entity.name in done or entity.name in path:
            return
        for field in entity.fields:
            target = project.entities.get(field.to or "")
            if field.type == "reference" and target:
                visit(target, (*path, entity.name))
        done[entity.name] = entity

    for entity in project.entities.values():
        visit(entity, ())
    return list(done.values())


def build_registry(project: Project, engine: Engine[Any]) -> Registry:
    platform = build_platform_tables(engine)
    targets: dict[str, type[Table]] = {
        "User": platform["user"],
        "Organization": platform["organization"],
    }
    entities: dict[str, DataTable] = {}
    for entity in dependency_order(project):
        entities[entity.name] = targets[entity.name] = build_entity_table(entity, engine, targets)
    return Registry(project=project, engine=engine, entities=entities, **platform)
