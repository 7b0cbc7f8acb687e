"""A migrated project with one organization and a RecordService on it, in the test's process,
for tests that drive the workflow machinery step by step (claim, process) themselves."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from textwrap import dedent

from runtime.access import Principal
from runtime.database import close_engine, engine_from_url, open_engine
from runtime.definitions import load_project
from runtime.schema import build_registry
from runtime.service import RecordService
from runtime.workflows.actions.base import Outbound
from runtime.workflows.outbox_claims import claim_events
from runtime.workflows.workers import outbound_of, process
from tests.conftest import plinth, plinth_env


@dataclass
class Lab:
    service: RecordService
    owner: Principal
    tenant: uuid.UUID
    outbound: Outbound
    slug: str = ""  # the organization's

    async def drain(self) -> int:
        return await drain(self.service, self.outbound)

    async def runs(self) -> list[dict]:
        runs = self.service.registry.workflow_run
        rows: list[dict] = await runs.select().order_by(runs.created_at).run()
        return rows


async def drain(service: RecordService, outbound: Outbound | None = None) -> int:
    """Claim and process what is due, as a worker does, until nothing is; the count."""
    done = 0
    while claimed := await claim_events(service.registry):
        for event, claim in claimed:
            await process(service, event, claim, outbound or outbound_of(service))
            done += 1
    return done


def write_definitions(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(dedent(text))
    return folder


@contextlib.asynccontextmanager
async def lab(
    database_url: str, workdir: Path, definitions: Path, outbound: Outbound | None = None
) -> AsyncIterator[Lab]:
    env = plinth_env(database_url, workdir, PLINTH_DEFINITIONS=str(definitions))
    plinth("migrate", env=env, cwd=workdir)
    engine = engine_from_url(database_url)
    registry = build_registry(load_project(definitions), engine)
    await open_engine(engine)
    try:
        org = registry.organization
        slug = f"org-{uuid.uuid4().hex[:6]}"
        tenant = (await org.insert(org(slug=slug, name=slug)).returning(org.id).run())[0]["id"]
        owner = Principal(tenant_id=tenant, actor="owner", roles=frozenset({"owner"}))
        yield Lab(RecordService(registry), owner, tenant, outbound or Outbound(), slug)
    finally:
        await close_engine(engine)
