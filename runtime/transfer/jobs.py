"""Import jobs: an import POSTed to the API runs in the server's background, and its status
and report are rows of `plinth_import_job`, fetched by the caller that started it (or an
owner of the organization) from any server process."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import uuid
from collections.abc import Coroutine, Iterator
from typing import Any

from runtime.access import Principal
from runtime.service import RecordService
from runtime.service.errors import NotFound, ServiceError
from runtime.service.imports import ImportOptions, ImportReport
from runtime.service.tenancy import tenant_wall
from runtime.service.values import to_json
from runtime.transfer.sources import SourceError, read_rows

log = logging.getLogger("plinth.imports")
STOPPED = (
    "the server stopped during the import: it was rolled back unless it had committed "
    "already; run again with a key (?key=, --key), it changes nothing that is there"
)


class RunningJobs:
    """The import jobs this process runs: held while they run (a task nobody holds may be
    collected), and at shutdown cancelled and waited for, so each row says the server
    stopped instead of `running` for ever."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        """Before the engine closes: each job writes its row while the pools are open."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def start_job(
    service: RecordService, principal: Principal, entity: str, options: ImportOptions
) -> uuid.UUID:
    jobs = service.registry.import_job
    job_id = uuid.uuid4()
    given = {"key": options.key, "dry_run": options.dry_run, "partial": options.partial}
    async with tenant_wall(service.registry.engine, principal):
        await jobs.insert(
            jobs(id=job_id, tenant_id=principal.tenant_id, entity=entity,
                 created_by=principal.user_id, options=json.dumps(given))
        ).run()  # fmt: skip
    return job_id


async def run_job(
    service: RecordService,
    principal: Principal,
    job_id: uuid.UUID,
    entity_name: str,
    lines: Iterator[str],
    fmt: str,
    options: ImportOptions,
) -> None:
    """The import, then its report on the job's row: `done` (committed or not, as the report
    says) or `failed` (the file could not be read, the server failed: logged, or stopped)."""
    status, report = "done", ImportReport()
    try:
        entity = service.entity(entity_name)
        rows = read_rows(service.project, entity, lines, fmt)
        report = await service.import_rows(principal, entity_name, rows, options)
        body = report.to_json()
    except (SourceError, UnicodeDecodeError, ServiceError) as error:
        status, body = "failed", report.to_json() | {"error": str(error)}
    except Exception:
        log.exception("import job %s failed", job_id)
        status, body = "failed", report.to_json() | {"error": "the server failed: it was logged"}
    except asyncio.CancelledError:  # the server stops (RunningJobs.stop): say so, then stop
        await _finish(service, principal, job_id, "failed", report.to_json() | {"error": STOPPED})
        raise
    await _finish(service, principal, job_id, status, body)


async def _finish(
    service: RecordService, principal: Principal, job_id: uuid.UUID, status: str, body: Any
) -> None:
    jobs = service.registry.import_job
    async with tenant_wall(service.registry.engine, principal):
        await jobs.update(
            {jobs.status: status, jobs.report: json.dumps(body),
             jobs.finished_at: dt.datetime.now(dt.UTC)}
        ).where(jobs.id == job_id).run()  # fmt: skip


async def job_status(service: RecordService, principal: Principal, job_id: Any) -> dict[str, Any]:
    """The job as its starter (or an owner) sees it; NotFound for anyone else."""
    try:
        key = uuid.UUID(str(job_id))
    except ValueError:
        raise NotFound(f"import {job_id} not found") from None
    jobs = service.registry.import_job
    query = jobs.select().where(jobs.id == key, jobs.tenant_id == principal.tenant_id)
    if "owner" not in principal.roles:
        query = query.where(jobs.created_by == principal.user_id)
    async with tenant_wall(service.registry.engine, principal):
        row = await query.first().run()
    if row is None:
        raise NotFound(f"import {job_id} not found")
    return {
        "id": str(row["id"]),
        "entity": row["entity"],
        "status": row["status"],
        "options": _json(row["options"]),
        "report": _json(row["report"]) if row["status"] != "running" else None,
        "created_at": to_json(row["created_at"]),
        "finished_at": to_json(row["finished_at"]),
    }


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value
