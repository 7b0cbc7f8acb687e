"""The service's test project (tests/service/definitions: Sample with every field type, and the
chain Sample.contact → Contact.company → Company.region) on a real, migrated database, for
in-process tests of the record service."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from runtime.database import close_engine, engine_from_url, open_engine
from runtime.definitions import load_project
from runtime.definitions.model import Project
from runtime.schema import build_registry
from runtime.schema.registry import Registry
from tests.conftest import plinth, plinth_env

LAB = Path(__file__).resolve().parent / "definitions"


def lab_project() -> Project:
    return load_project(LAB)


def migrate_lab(database_url: str, workdir: Path) -> dict[str, str]:
    """`plinth migrate` of the lab definitions; returns the environment it ran with."""
    env = plinth_env(database_url, workdir, PLINTH_DEFINITIONS=str(LAB))
    plinth("migrate", env=env, cwd=workdir)
    return env


@contextlib.asynccontextmanager
async def lab_registry(database_url: str) -> AsyncIterator[Registry]:
    """The lab's registry on an open engine (the database must be migrated)."""
    engine = engine_from_url(database_url)
    registry = build_registry(lab_project(), engine)
    await open_engine(engine)
    try:
        yield registry
    finally:
        await close_engine(engine)


async def add_organization(registry: Registry, slug: str) -> uuid.UUID:
    org = registry.organization
    row = await org.insert(org(slug=slug, name=slug.title())).returning(org.id).run()
    return row[0]["id"]
