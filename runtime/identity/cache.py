"""What a verified credential means, kept in memory between requests: an API token's owner, a
login (refresh family) that is still active, a user's Principal in an organization.

An entry is served only while nothing it depends on has changed. On PostgreSQL, triggers on
the user, organization, membership, API-token and refresh-token tables NOTIFY
`plinth_identity` from the very transaction that changes them (`runtime/schema/security.py`,
so edits made by another process, the CLI or SQL count too); a listening connection turns
each notification into a new generation, and entries of an older generation are misses.
Changes this process makes itself (`changed()`) count at once, without waiting for the
notification. While the listening connection is down — and on SQLite, where a lookup is no
network round trip — nothing is cached.

API tokens' `last_used_at` is noted here and written in batches (`flush_used`), at most
once per token and `USED_FLUSH_SECONDS`, instead of on the request."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
from piccolo.engine.base import Engine

IDENTITY_CHANNEL = "plinth_identity"
LISTENER_NAME = "plinth-identity-listener"  # its connection, beside the pools
TTL_SECONDS = 60.0  # a bound on any entry's age, whatever the notifications say
MAX_ENTRIES = 50_000
USED_FLUSH_SECONDS = 30.0
RECONNECT_SECONDS = 1.0
log = logging.getLogger("plinth.auth")

_generation = 0  # this process's count of identity changes (notified or made here)


def changed() -> None:
    """Something a cached credential depends on changed: every cache in the process forgets."""
    global _generation
    _generation += 1


class CallerCache:
    """Entries `key → (value, generation, expires)`, used only while `live`."""

    def __init__(self) -> None:
        self._entries: dict[Any, tuple[Any, int, float]] = {}
        self._used: dict[uuid.UUID, dt.datetime] = {}
        self._listener: asyncpg.Connection | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._tokens: Callable[[], Any] | None = None

    @property
    def live(self) -> bool:
        return self._listener is not None and not self._listener.is_closed()

    def get(self, key: Any) -> Any:
        if not self.live:
            return None
        entry = self._entries.get(key)
        if entry is None:
            return None
        value, generation, expires = entry
        if generation != _generation or expires < time.monotonic():
            del self._entries[key]
            return None
        return value

    def put(self, key: Any, value: Any, ttl: float = TTL_SECONDS) -> None:
        """Keep `value` — looked up before this call, so under the generation it saw: a
        change notified while it was read makes it a miss next time (`generation`)."""
        if not self.live:
            return
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = (value, _generation, time.monotonic() + min(ttl, TTL_SECONDS))

    def generation(self) -> int:
        return _generation

    def put_if_unchanged(self, key: Any, value: Any, seen: int, ttl: float = TTL_SECONDS) -> None:
        """`put`, unless a change arrived since the lookup began (generation `seen`)."""
        if seen == _generation:
            self.put(key, value, ttl)

    # -- last_used_at ------------------------------------------------------------------------

    def note_used(self, token_id: uuid.UUID) -> None:
        self._used[token_id] = dt.datetime.now(dt.UTC)

    async def flush_used(self) -> None:
        """Write the noted uses: one UPDATE per batch."""
        table = self._tokens() if self._tokens else None
        used, self._used = self._used, {}
        if not used or table is None:
            return
        now = max(used.values())
        await table.update({table.last_used_at: now}).where(table.id.is_in(list(used))).run()

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self, engine: Engine[Any], tokens: Callable[[], Any]) -> None:
        """Listen for identity changes (PostgreSQL) and flush uses in the background to the
        API-token table `tokens` gives (the tables belong to the schema's current model)."""
        self._stopping = False
        self._tokens = tokens
        self._tasks.append(asyncio.create_task(self._flush_loop()))
        if engine.engine_type == "postgres":
            config: dict[str, Any] = engine.config  # type: ignore[attr-defined]
            with contextlib.suppress(OSError, asyncpg.PostgresError):
                await self._listen(config)
            if not self.live:
                self._tasks.append(asyncio.create_task(self._reconnect(config)))

    async def stop(self) -> None:
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._listener is not None:
            await self._listener.close()
            self._listener = None
        with contextlib.suppress(Exception):  # the database may be gone at shutdown
            await self.flush_used()

    async def _listen(self, config: dict[str, Any]) -> None:
        settings = {**config.get("server_settings", {}), "application_name": LISTENER_NAME}
        connection = await asyncpg.connect(**(config | {"server_settings": settings}))
        await connection.add_listener(IDENTITY_CHANNEL, lambda *_: changed())
        connection.add_termination_listener(lambda _: self._lost(config))
        changed()  # whatever happened while nobody listened
        self._entries.clear()
        self._listener = connection

    def _lost(self, config: dict[str, Any]) -> None:
        self._listener = None
        self._entries.clear()
        if not self._stopping:
            log.warning("lost the identity notifications: caching callers stops until back")
            self._tasks.append(asyncio.create_task(self._reconnect(config)))

    async def _reconnect(self, config: dict[str, Any]) -> None:
        while not self.live and not self._stopping:
            await asyncio.sleep(RECONNECT_SECONDS)
            with contextlib.suppress(OSError, asyncpg.PostgresError):
                await self._listen(config)

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(USED_FLUSH_SECONDS)
            try:
                await self.flush_used()
            except Exception:  # the next round tries again; requests are not affected
                log.exception("could not write API tokens' last_used_at")
