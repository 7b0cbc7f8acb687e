"""Waking the loops that claim outbox events: at commit on PostgreSQL (LISTEN to the NOTIFY
its outbox trigger sends, `schema/security.py`), else — and whenever the listening connection
is down — by polling every POLL_SECONDS."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import asyncpg

from runtime.database import is_postgres
from runtime.schema.registry import Registry
from runtime.schema.security import OUTBOX_CHANNEL

log = logging.getLogger("plinth.workflows")
POLL_SECONDS = 0.5
LISTENER_NAME = "plinth-outbox-listener"  # its connection, beside the pools


class Wakeup:
    """`await wakeup.wait()` returns when events may be waiting: at once after a NOTIFY, or
    after POLL_SECONDS (or `stop`)."""

    def __init__(self, registry: Registry, stop: asyncio.Event) -> None:
        self.engine = registry.engine
        self.stop = stop
        self.notified = asyncio.Event()
        self.connection: Any = None

    async def wait(self) -> None:
        await self.listen()
        stop = asyncio.ensure_future(self.stop.wait())
        notified = asyncio.ensure_future(self.notified.wait())
        try:
            await asyncio.wait(
                {stop, notified}, timeout=POLL_SECONDS, return_when="FIRST_COMPLETED"
            )
        finally:
            stop.cancel()
            notified.cancel()
        self.notified.clear()

    async def listen(self) -> None:
        """LISTEN on PostgreSQL, (re)connecting when the connection is down."""
        if not is_postgres(self.engine):
            return
        if self.connection is not None and not self.connection.is_closed():
            return
        try:
            self.connection = await asyncpg.connect(
                self.engine.config["dsn"],
                timeout=5,
                server_settings={"application_name": LISTENER_NAME},
            )
            await self.connection.add_listener(OUTBOX_CHANNEL, self._on_notify)
        except (OSError, asyncpg.PostgresError) as error:
            log.warning("cannot LISTEN for outbox events (%s); polling", error)
            self.connection = None

    def _on_notify(self, *_: Any) -> None:
        self.notified.set()

    async def close(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(Exception):
                await self.connection.close()
