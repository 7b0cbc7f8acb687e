"""A migrated database of tests/transfer/definitions (Contact, Ticket with a state machine,
roles agent and viewer) with two organizations, and a RecordService on it in the test's
process."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from runtime.access import Principal
from runtime.database import close_engine, engine_from_url, open_engine
from runtime.definitions import load_project
from runtime.schema import Registry, build_registry
from runtime.service import RecordService
from runtime.service.imports import ImportOptions, ImportReport
from runtime.transfer.sources import read_rows
from tests.conftest import plinth, plinth_env

DEFINITIONS = Path(__file__).resolve().parent / "definitions"


def migrate(database_url: str, workdir: Path) -> dict[str, str]:
    env = plinth_env(database_url, workdir, PLINTH_DEFINITIONS=str(DEFINITIONS))
    plinth("migrate", env=env, cwd=workdir)
    return env


@dataclass
class Lab:
    registry: Registry
    service: RecordService
    owner: Principal  # organization A
    agent: Principal  # organization A
    viewer: Principal  # organization A
    other: Principal  # owner of organization B

    async def load(
        self, principal: Principal, text: str, fmt: str = "csv", **options: object
    ) -> ImportReport:
        project = self.registry.project
        rows = read_rows(project, project.entities["Ticket"], text.splitlines(True), fmt)
        return await self.service.import_rows(
            principal,
            "Ticket",
            rows,
            ImportOptions(**options),  # type: ignore[arg-type]
        )

    async def count(self, principal: Principal, entity: str = "Ticket") -> int:
        return await self.service.count(principal, entity)


async def _organization(registry: Registry) -> uuid.UUID:
    org = registry.organization
    slug = f"org-{uuid.uuid4().hex[:8]}"
    rows = await org.insert(org(slug=slug, name=slug)).returning(org.id).run()
    return rows[0]["id"]


@asynccontextmanager
async def open_lab(database_url: str) -> AsyncIterator[Lab]:
    engine = engine_from_url(database_url)
    registry = build_registry(load_project(DEFINITIONS), engine)
    await open_engine(engine)
    try:
        a, b = await _organization(registry), await _organization(registry)

        def user(tenant: uuid.UUID, role: str) -> Principal:
            user_id = uuid.uuid4()
            return Principal(
                tenant_id=tenant, actor=f"{role}@example.com", user_id=user_id,
                email=f"{role}@example.com", roles=frozenset({role}),
            )  # fmt: skip

        yield Lab(
            registry, RecordService(registry), user(a, "owner"), user(a, "agent"),
            user(a, "viewer"), user(b, "owner"),
        )  # fmt: skip
    finally:
        await close_engine(engine)
