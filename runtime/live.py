"""The model a running `plinth serve` or `plinth worker` works with, kept in step with the
database: when `plinth migrate` changes the applied schema digest (a NOTIFY on PostgreSQL; on
SQLite the stored digest, read every POLL_SECONDS), the definitions on disk are loaded again
and a new model — tables, service, and for `serve` its routes, OpenAPI and admin — replaces
the old one whole.

A model is an immutable snapshot: a request or job takes `current` once and finishes on it,
so one in flight across a switch sees one model throughout. While no model matches the
database (the new one is being built, or the definitions on disk are not the ones that were
migrated) `current` is None, and callers answer 503 with Retry-After."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import asyncpg
from piccolo.engine.base import Engine
from starlette.types import ASGIApp

from runtime.database import is_postgres
from runtime.definitions import Project, check_project
from runtime.definitions.report import format_problems
from runtime.schema.apply import SCHEMA_CHANNEL, applied_digest
from runtime.schema.describe import describe
from runtime.schema.registry import build_registry
from runtime.service import RecordService
from runtime.storage.base import Storage

log = logging.getLogger("plinth.live")
POLL_SECONDS = 0.5  # SQLite, or PostgreSQL while its LISTEN connection is down
LISTEN_POLL_SECONDS = 5.0  # PostgreSQL while listening: a NOTIFY missed is noticed anyway
MISMATCH_RETRY_SECONDS = 2.0  # definitions on disk ≠ the applied schema: read them again
RETRY_AFTER = 2  # seconds, in a 503's Retry-After
LISTENER_NAME = "plinth-schema-listener"  # its connection, beside the pools

AppBuilder = Callable[[RecordService], ASGIApp]
Loop = Callable[[RecordService, asyncio.Event], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class Model:
    """One consistent set of definitions and what is built from them."""

    digest: str | None  # the applied schema digest it was built for (None: not migrated)
    service: RecordService
    app: ASGIApp | None  # `serve`: the routes, OpenAPI and admin of this model


class LiveModel:
    """Owns the current Model of this process and swaps it when the database's changes."""

    def __init__(
        self,
        engine: Engine[Any],
        definitions: Any,
        storage: Storage | None = None,
        build_app: AppBuilder | None = None,
    ) -> None:
        self.engine = engine
        self.definitions = definitions  # the folder, read again at each switch
        self.storage = storage
        self.build_app = build_app
        self.reason = "the server is starting"  # why `current` is None, for the 503
        self._model: Model | None = None
        self._changed = asyncio.Event()  # set (and replaced) at each swap
        self._wake = asyncio.Event()  # check the digest now
        self._built_for: str | None = None  # the digest of the last attempt
        self._retry_at = 0.0
        self._refused: tuple[str | None, str | None] | None = None  # (digest, why), last said

    @property
    def current(self) -> Model | None:
        return self._model

    async def start(self, project: Project) -> Model:
        """The first model, from the already checked `project`, for the digest applied now.
        Serving starts even when they differ (as it always has; `plinth check` / `plan` say
        why): the next migration's switch brings them in step."""
        digest = await applied_digest(self.engine)
        if describe(project, self.engine).digest() != digest:
            log.warning("the definitions differ from the migrated schema: run `plinth migrate`")
        model = self._build(project, digest)
        self._swap(model)
        return model

    async def ready(self, stop: asyncio.Event | None = None) -> Model | None:
        """The current model, waiting while there is none (None only once `stop` is set)."""
        while self._model is None:
            if stop is not None and stop.is_set():
                return None
            await self._wait_change(stop)
        return self._model

    async def stale(self, model: Model) -> bool:
        """Whether the database has moved on from `model` (a request failing on an old model
        answers 503, not 500); wakes the watcher when it has."""
        try:
            moved = await applied_digest(self.engine) != model.digest
        except Exception:  # the database is down: not ours to explain
            return False
        if moved:
            self._wake.set()
        return moved

    async def refresh(self) -> None:
        """Compare the applied digest with the model's; on a change, build and swap."""
        digest = await applied_digest(self.engine)
        model = self._model
        if model is not None and model.digest == digest:
            return
        if model is None and digest == self._built_for and time.monotonic() < self._retry_at:
            return
        self._built_for = digest
        self.reason = "the server is switching to a new schema"
        self._swap(None)  # 503, and the workflow loops paused, from here until the swap
        project, problems = await asyncio.to_thread(check_project, self.definitions)
        if any(p.severity == "error" for p in problems) or project is None:
            self._refuse(digest, "the definitions have errors", format_problems(problems))
        elif describe(project, self.engine).digest() != digest:
            why = "the definitions are not the ones the database was migrated to"
            self._refuse(digest, why, "deploy them, or run `plinth migrate`")
        else:
            self._refused = None
            self._swap(self._build(project, digest))
            await self._expire_connections()
            log.info("switched to the schema %s", (digest or "")[:12])

    def _refuse(self, digest: str | None, why: str, details: str) -> None:
        """No model for `digest`: 503 saying `why`, and another look in a moment."""
        if (digest, why + details) != self._refused:  # said once, not at each retry
            log.warning("not serving: %s (%s):\n%s", why, self.definitions, details)
        self._refused = (digest, why + details)
        self.reason = f"{why}; see the server's log"
        self._retry_at = time.monotonic() + MISMATCH_RETRY_SECONDS

    def _build(self, project: Project, digest: str | None) -> Model:
        service = RecordService(build_registry(project, self.engine), self.storage)
        app = self.build_app(service) if self.build_app is not None else None
        return Model(digest=digest, service=service, app=app)

    def _swap(self, model: Model | None) -> None:
        if model is self._model:
            return
        self._model = model
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def _expire_connections(self) -> None:
        """PostgreSQL: pooled connections cache prepared statements of the old tables' shape;
        each is replaced when next taken from its pool (those in use, when given back)."""
        for name in ("pool", "app_pool"):
            pool = getattr(self.engine, name, None)
            if isinstance(pool, asyncpg.Pool):
                await pool.expire_connections()

    async def _wait_change(self, stop: asyncio.Event | None, timeout: float | None = None) -> None:
        waits = [asyncio.ensure_future(self._changed.wait())]
        if stop is not None:
            waits.append(asyncio.ensure_future(stop.wait()))
        try:
            await asyncio.wait(waits, timeout=timeout, return_when="FIRST_COMPLETED")
        finally:
            for waiting in waits:
                waiting.cancel()

    async def watch(self, stop: asyncio.Event) -> None:
        """Until `stop`: refresh at each NOTIFY (PostgreSQL) and every poll interval."""
        listener = _Listener(self.engine, self._wake)
        try:
            while not stop.is_set():
                listening = await listener.listen()
                every = LISTEN_POLL_SECONDS if listening else POLL_SECONDS
                await _wait_either(stop, self._wake, every)
                self._wake.clear()
                if stop.is_set():
                    return
                try:
                    await self.refresh()
                except Exception as error:  # the database is down, say: keep the model
                    log.warning("schema check failed (%s); retrying", error)
        finally:
            await listener.close()

    async def run_each(self, loop: Loop, stop: asyncio.Event) -> None:
        """Run `loop` on the current model's service until `stop`; at each switch, stop it
        (it finishes what it holds) and start it again on the new model."""
        while not stop.is_set():
            model = await self.ready(stop)
            if model is None:
                return
            inner = asyncio.Event()
            task = asyncio.create_task(loop(model.service, inner))
            while self._model is model and not stop.is_set():
                await self._wait_change(stop)
            inner.set()
            try:
                await task
            except Exception:
                log.exception("a worker loop failed; started again on the current model")


async def _wait_either(stop: asyncio.Event, wake: asyncio.Event, timeout: float) -> None:
    waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
    try:
        await asyncio.wait(waits, timeout=timeout, return_when="FIRST_COMPLETED")
    finally:
        for waiting in waits:
            waiting.cancel()


class _Listener:
    """PostgreSQL: LISTEN to SCHEMA_CHANNEL on a connection of its own, setting `wake` at
    each NOTIFY; reconnected when it drops. Elsewhere: nothing (the watcher polls)."""

    def __init__(self, engine: Engine[Any], wake: asyncio.Event) -> None:
        self.engine = engine
        self.wake = wake
        self.connection: Any = None

    async def listen(self) -> bool:
        if not is_postgres(self.engine):
            return False
        if self.connection is not None and not self.connection.is_closed():
            return True
        try:
            self.connection = await asyncpg.connect(
                self.engine.config["dsn"],
                timeout=5,
                server_settings={"application_name": LISTENER_NAME},
            )
            await self.connection.add_listener(SCHEMA_CHANNEL, lambda *_: self.wake.set())
        except (OSError, asyncpg.PostgresError) as error:
            log.warning("cannot LISTEN for schema changes (%s); polling", error)
            self.connection = None
            return False
        self.wake.set()  # a migration may have committed while not listening
        return True

    async def close(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(Exception):
                await self.connection.close()
