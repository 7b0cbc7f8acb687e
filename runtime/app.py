"""The `plinth serve` application: /auth, /api and /admin over one RecordService, with the
in-process workflow worker when no Redis is configured."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import RedirectResponse
from starlette.routing import Mount, Route

from admin import build_admin
from runtime.api import auth, files, openapi, records, workflow_routes
from runtime.api.body_limit import BodyLimit
from runtime.api.problems import EXCEPTION_HANDLERS
from runtime.database import close_engine, open_engine
from runtime.identity.cache import CallerCache
from runtime.identity.keys import KeyRing
from runtime.identity.oidc import OidcVerifier
from runtime.identity.throttle import LoginThrottle
from runtime.limits import limits
from runtime.schema.registry import Registry
from runtime.service import RecordService
from runtime.settings import Settings
from runtime.storage import storage_from_url
from runtime.workflows.workers import in_process_loop


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


def build_app(settings: Settings, registry: Registry, *, run_worker: bool = True) -> Starlette:
    service = RecordService(
        registry, storage_from_url(settings.storage_url, settings.s3_endpoint_url)
    )
    oidc = registry.project.platform.oidc
    plinth = Plinth(
        settings=settings,
        registry=registry,
        service=service,
        openapi=openapi.openapi_document(registry.project),
        keys=settings.key_ring(),
        throttle=LoginThrottle(settings.redis_url),
        oidc=OidcVerifier.from_settings(oidc) if oidc else None,
        callers=CallerCache(),
    )
    in_process = run_worker and settings.redis_url is None
    limits()  # a malformed PLINTH_MAX_* stops the start, not a request

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await open_engine(registry.engine)
        await plinth.callers.start(registry)
        stop = asyncio.Event()
        worker = asyncio.create_task(in_process_loop(service, stop)) if in_process else None
        try:
            yield
        finally:
            stop.set()
            if worker is not None:
                await worker
            if plinth.oidc is not None:
                await plinth.oidc.close()
            await plinth.callers.stop(registry)
            await close_engine(registry.engine)

    admin = build_admin(
        service,
        site_name=registry.project.platform.name,
        production=settings.secure_cookies,
        throttle=plinth.throttle,
    )
    app = Starlette(
        routes=[
            Route("/", lambda request: RedirectResponse("/admin/")),
            *auth.routes,
            *openapi.routes,
            *workflow_routes.routes,  # before /api/{slug}
            *files.routes,
            *records.routes,
            Mount("/admin", app=admin),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[Middleware(BodyLimit)],
        lifespan=lifespan,
    )
    app.state.plinth = plinth
    return app
