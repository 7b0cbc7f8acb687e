"""An in-process RecordService over tests/service/definitions (Sample with every field type,
and the chain Sample.contact → Contact.company → Company.region), on a migrated database."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from runtime.access import Principal
from runtime.database import close_engine, engine_from_url, open_engine
from runtime.definitions import load_project
from runtime.definitions.model import Project
from runtime.schema import Registry, build_registry
from runtime.service import RecordService
from tests.conftest import plinth, plinth_env

LAB = Path(__file__).resolve().parent / "definitions"


def lab_project() -> Project:
    return load_project(LAB)


def migrate_lab(database_url: str, workdir: Path) -> dict[str, str]:
    """`plinth migrate` of the lab definitions; returns the environment it ran with."""
    env = plinth_env(database_url, workdir, PLINTH_DEFINITIONS=str(LAB))
    plinth("migrate", env=env, cwd=workdir)
    return env


@dataclass
class Lab:
    registry: Registry
    service: RecordService
    a: Principal  # owner in organization A
    b: Principal  # owner in organization B


async def add_organization(registry: Registry, slug: str) -> uuid.UUID:
    org = registry.organization
    rows = await org.insert(org(slug=slug, name=slug)).returning(org.id).run()
    return rows[0]["id"]


@asynccontextmanager
async def lab_registry(database_url: str) -> AsyncIterator[Registry]:
    """The lab's registry on an open engine (the database must be migrated)."""
    engine = engine_from_url(database_url)
    registry = build_registry(lab_project(), engine)
    await open_engine(engine)
    try:
        yield registry
    finally:
        await close_engine(engine)


@asynccontextmanager
async def open_lab(database_url: str) -> AsyncIterator[Lab]:
    async with lab_registry(database_url) as registry:
        tenants = [await add_organization(registry, f"org-{uuid.uuid4().hex[:8]}") for _ in "ab"]
        a, b = (
            Principal(tenant_id=t, actor=f"owner-{i}", roles=frozenset({"owner"}))
            for i, t in enumerate(tenants)
        )
        yield Lab(registry, RecordService(registry), a, b)
