"""Who is using the admin: resolved from piccolo-admin's session cookie for each request."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from runtime.access import Principal
from runtime.access.resolve import principal_for
from runtime.service import RecordService

ORG_COOKIE = "plinth_org"
SESSION_COOKIE = "id"  # piccolo-admin's session cookie


@dataclass(frozen=True)
class AdminContext:
    service: RecordService
    principal: Principal | None
    root: str = ""  # where the admin is mounted (/admin): for the URLs its answers carry


current: ContextVar[AdminContext | None] = ContextVar("plinth_admin_context", default=None)


class AdminContextMiddleware:
    """Sets `current` for the request: the service and the admin's Principal (or None)."""

    def __init__(
        self, app: ASGIApp, service: RecordService, unwalled: tuple[str, ...] = ()
    ) -> None:
        self.app = app
        self.service = service
        self.unwalled = unwalled  # path prefixes whose routes call the service only

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        principal = await self._principal(HTTPConnection(scope))
        root = scope.get("root_path", "")
        token = current.set(AdminContext(self.service, principal, root))
        try:
            if self.unwalled and self._path(scope).startswith(self.unwalled):
                # the service walls its own units; a transaction held open while a file
                # streams in or out would hold a connection (and on a rollback, orphan it)
                await self.app(scope, receive, send)
                return
            # piccolo-admin's own queries run inside the tenant wall too (PostgreSQL RLS)
            async with self.service.wall(principal):
                await self.app(scope, receive, send)
        finally:
            current.reset(token)

    @staticmethod
    def _path(scope: Scope) -> str:
        path: str = scope["path"]
        root: str = scope.get("root_path", "")
        return path[len(root) :] if root and path.startswith(root) else path

    async def _principal(self, conn: HTTPConnection) -> Principal | None:
        token = conn.cookies.get(SESSION_COOKIE)
        if not token:
            return None
        registry = self.service.registry
        user_id = await registry.session.get_user_id(token)
        if user_id is None:
            return None
        return await principal_for(registry, user_id, conn.cookies.get(ORG_COOKIE))
