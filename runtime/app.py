"""The `plinth serve` application: /auth, /api and /admin over one RecordService, with the
in-process workflow worker when no Redis is configured; `LiveApp` swaps them for a new model
when a migration changes the schema."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import RedirectResponse
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from admin import build_admin
from runtime.api import auth, files, imports, openapi, records, workflow_routes
from runtime.api.body_limit import BodyLimit
from runtime.api.problems import EXCEPTION_HANDLERS, problem_response
from runtime.database import close_engine, open_engine
from runtime.definitions.model import Project
from runtime.identity.cache import CallerCache
from runtime.identity.keys import KeyRing
from runtime.identity.oidc import OidcVerifier
from runtime.identity.throttle import LoginThrottle
from runtime.limits import limits
from runtime.live import RETRY_AFTER, LiveModel
from runtime.schema.registry import Registry
from runtime.service import RecordService
from runtime.settings import Settings
from runtime.storage import storage_from_url
from runtime.transfer.jobs import RunningJobs
from runtime.workflows.workers import in_process_loop

log = logging.getLogger("plinth.live")


@dataclass(frozen=True)
class Plinth:
    """What every request handler reaches through `request.app.state.plinth`."""

    settings: Settings
    registry: Registry
    service: RecordService
    openapi: dict[str, Any]
    keys: KeyRing  # signs and verifies Plinth's access tokens
    throttle: LoginThrottle  # failed logins, shared through Redis when configured
    oidc: OidcVerifier | None  # platform.yaml auth.oidc
    callers: CallerCache  # verified credentials → principals (runtime/identity/cache.py)
    imports: RunningJobs  # the import jobs this process runs (runtime/transfer/jobs.py)


def build_plinth(
    settings: Settings,
    service: RecordService,
    shared: Plinth | None = None,
    callers: CallerCache | None = None,
) -> Plinth:
    """What the handlers of one model reach; `shared`: an earlier model's, whose keys, login
    throttle and cache of callers (and OIDC client, if platform.yaml's is unchanged) outlive
    a switch."""
    registry = service.registry
    oidc = registry.project.platform.oidc
    kept = shared.oidc if shared and shared.registry.project.platform.oidc == oidc else None
    return Plinth(
        settings=settings,
        registry=registry,
        service=service,
        openapi=openapi.openapi_document(registry.project),
        keys=shared.keys if shared else settings.key_ring(),
        throttle=shared.throttle if shared else LoginThrottle(settings.redis_url),
        oidc=kept or (OidcVerifier.from_settings(oidc) if oidc else None),
        callers=shared.callers if shared else callers or CallerCache(),
        imports=shared.imports if shared else RunningJobs(),
    )


def routes_app(plinth: Plinth, lifespan: Any = None) -> Starlette:
    """/auth, /api and /admin of one model."""
    admin = build_admin(
        plinth.service,
        site_name=plinth.registry.project.platform.name,
        production=plinth.settings.secure_cookies,
        throttle=plinth.throttle,
        keys=plinth.keys,
    )
    app = Starlette(
        routes=[
            Route("/", lambda request: RedirectResponse("/admin/")),
            *auth.routes,
            *openapi.routes,
            *workflow_routes.routes,  # before /api/{slug}
            *files.routes,
            *imports.routes,  # before /api/{slug}
            *records.routes,
            Mount("/admin", app=admin),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[Middleware(BodyLimit)],
        lifespan=lifespan,
    )
    app.state.plinth = plinth
    return app


def build_app(settings: Settings, registry: Registry, *, run_worker: bool = True) -> Starlette:
    """One fixed model (tests, and embedding): see `live_app` for what `plinth serve` runs."""
    service = RecordService(
        registry, storage_from_url(settings.storage_url, settings.s3_endpoint_url)
    )
    plinth = build_plinth(settings, service)
    in_process = run_worker and settings.redis_url is None
    limits()  # a malformed PLINTH_MAX_* stops the start, not a request

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await open_engine(registry.engine)
        await plinth.callers.start(registry.engine, lambda: registry.api_token)
        stop = asyncio.Event()
        worker = asyncio.create_task(in_process_loop(service, stop)) if in_process else None
        try:
            yield
        finally:
            stop.set()
            await plinth.imports.stop()
            if worker is not None:
                await worker
            if plinth.oidc is not None:
                await plinth.oidc.close()
            await plinth.callers.stop()
            await close_engine(registry.engine)

    return routes_app(plinth, lifespan)


class LiveApp:
    """`plinth serve`: each request goes to the current model's app (runtime/live.py) and
    finishes there even if a switch happens meanwhile. No model (a switch under way, or
    definitions that do not match the database) → 503 with Retry-After; a 5xx from an old
    model after the database moved on (a column it still names is gone) → the same 503."""

    def __init__(self, settings: Settings, project: Project) -> None:
        from runtime.piccolo_conf import DB

        self.settings = settings
        self.project = project
        self.engine = DB
        self.in_process = settings.redis_url is None
        self.plinths: list[Plinth] = []
        self.callers = CallerCache()  # every model's: identity does not change with the schema
        storage = storage_from_url(settings.storage_url, settings.s3_endpoint_url)
        self.live = LiveModel(DB, settings.definitions, storage, self._build)
        limits()  # a malformed PLINTH_MAX_* stops the start, not a request

    def _build(self, service: RecordService) -> ASGIApp:
        shared = self.plinths[-1] if self.plinths else None
        plinth = build_plinth(self.settings, service, shared, self.callers)
        if not self.plinths or plinth.oidc is not self.plinths[-1].oidc:
            self.plinths.append(plinth)  # one per OIDC client, each closed at shutdown
        return routes_app(plinth)

    def _api_tokens(self) -> Any:
        """The API-token table, for the batched last_used_at writes (any model's will do)."""
        return self.plinths[-1].registry.api_token if self.plinths else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        # A request never starts inside another's transaction: this task's copy of the
        # context is cleared of one, whatever the connection's context carried in.
        self.engine.current_transaction.set(None)
        model = self.live.current
        if model is None or model.app is None:
            await self._unavailable(scope, receive, send)
            return
        replaced = False

        async def guarded(message: Message) -> None:
            nonlocal replaced
            if replaced:  # the old model's 500: its body goes nowhere
                return
            status = message.get("status", 0) if message["type"] == "http.response.start" else 0
            if status >= 500 and status != 503 and await self.live.stale(model):
                replaced = True
                log.warning("%s failed on the previous schema: answered 503", scope["path"])
                await self._unavailable(scope, receive, send)
                return
            await send(message)

        try:
            await model.app(scope, receive, guarded)
        except Exception:
            if not replaced:
                raise

    async def _unavailable(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await send({"type": "websocket.close", "code": 1013})  # try again later
            return
        response = problem_response(
            503,
            "Service unavailable",
            self.live.reason,
            headers={"Retry-After": str(RETRY_AFTER)},
        )
        await response(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        await receive()  # lifespan.startup
        stop = asyncio.Event()
        try:
            await open_engine(self.engine)
            await self.callers.start(self.engine, self._api_tokens)
            await self.live.start(self.project)
        except Exception as error:
            await send({"type": "lifespan.startup.failed", "message": str(error)})
            raise
        tasks = [asyncio.create_task(self.live.watch(stop))]
        if self.in_process:
            tasks.append(asyncio.create_task(self.live.run_each(in_process_loop, stop)))
        # What startup built (definitions, tables, routes) lives as long as the process:
        # frozen, the collector's full passes stop walking it on the request path (p99).
        gc.freeze()
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown
        stop.set()
        if self.plinths:  # every model's Plinth shares the first one's jobs
            await self.plinths[0].imports.stop()
        await asyncio.gather(*tasks, return_exceptions=True)
        for plinth in self.plinths:
            if plinth.oidc is not None:
                await plinth.oidc.close()
        await self.callers.stop()
        await close_engine(self.engine)
        await send({"type": "lifespan.shutdown.complete"})
