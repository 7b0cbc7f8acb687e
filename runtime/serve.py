"""`plinth serve`: uvicorn on httptools and uvloop, the access log off unless asked for, and
`--workers N` processes sharing one socket (each its own pools and caches; the requests'
state is in the database, so any process answers any request)."""

from __future__ import annotations

import os
from typing import Any

from starlette.types import ASGIApp

from runtime.settings import Settings


def create_app() -> ASGIApp:
    """The application of a worker process, from the environment (`--workers`: uvicorn
    imports this in each process it starts)."""
    from runtime.app import LiveApp
    from runtime.definitions import load_project
    from runtime.settings import read_settings

    settings = read_settings()
    return LiveApp(settings, load_project(settings.definitions))


def _config(
    app: Any, settings: Settings, host: str, port: int, access_log: bool, workers: int
) -> Any:
    import uvicorn

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http="httptools",
        loop="uvloop",
        log_level="info",
        access_log=access_log,
        lifespan="on",
        workers=workers,
        factory=isinstance(app, str),
        # X-Forwarded-For only from PLINTH_TRUSTED_PROXIES (uvicorn trusts 127.0.0.1 by default)
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=list(settings.trusted_proxies),
    )


async def serve_app(
    app: ASGIApp, settings: Settings, host: str, port: int, *, access_log: bool = False
) -> None:
    """Serve `app` in this process."""
    import uvicorn

    await uvicorn.Server(_config(app, settings, host, port, access_log, 1)).serve()


def serve_workers(
    settings: Settings, host: str, port: int, *, access_log: bool = False, workers: int = 2
) -> None:
    """`workers` processes on one socket, each building its app from the same settings (the
    definitions folder is passed on through PLINTH_DEFINITIONS); returns when they stop."""
    from uvicorn.supervisors import Multiprocess

    os.environ["PLINTH_DEFINITIONS"] = str(settings.definitions)
    os.environ.setdefault("PICCOLO_CONF", "runtime.piccolo_conf")
    config = _config("runtime.serve:create_app", settings, host, port, access_log, workers)
    Multiprocess(config, sockets=[config.bind_socket()]).run()
