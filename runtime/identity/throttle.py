"""Login throttling: at most ten failed password or code checks per account and per client
address in a moving minute. It is a gate: every check takes a place in both windows *before*
the hash (one atomic step for the two), and gives it back only when the check succeeded or
never ran. So concurrent guesses cannot outrun it (40 at once: ten are checked, thirty get
429) and an account that logs in often is never locked by its own successes.

The windows live in memory without Redis, in Redis (one Lua script per step) when
PLINTH_REDIS_URL is set, so that every `plinth serve` process shares them. The `limits`
library this replaced can neither give a hit back nor take two keys at once."""

from __future__ import annotations

import contextlib
import hashlib
import math
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis

from runtime.identity.passwords import POOL

LIMIT = 10  # failures per account, and per client address, ...
WINDOW = 60.0  # ... in this many seconds
_admitted: ContextVar[bool] = ContextVar("plinth_login_admitted", default=False)


class Throttled(Exception):
    """Over the limit: the caller answers 429 with Retry-After: `wait`."""

    def __init__(self, wait: int) -> None:
        super().__init__(f"too many failed logins: try again in {wait} seconds")
        self.wait = wait


@dataclass
class Attempt:
    """One admitted check; `succeeded()` gives its place back when it ends."""

    keys: tuple[str, ...]
    member: str
    given_back: bool = False

    def succeeded(self) -> None:
        """The password (and code) was right, or no check ran: this was no failure."""
        self.given_back = True


def admitted() -> bool:
    """Whether this request passed the gate (PlinthUserBase.login refuses otherwise)."""
    return _admitted.get()


class Windows(Protocol):
    async def take(self, keys: Sequence[str], member: str) -> float:
        """0 after taking a place in every window, else the seconds until one is free."""

    async def give_back(self, keys: Sequence[str], member: str) -> None: ...


class MemoryWindows:
    """One process's windows: nothing awaits between test and take, so each is atomic."""

    def __init__(self) -> None:
        self.entries: dict[str, dict[str, float]] = {}

    def _live(self, key: str, now: float) -> dict[str, float]:
        live = {m: t for m, t in self.entries.get(key, {}).items() if t > now - WINDOW}
        self.entries[key] = live
        return live

    async def take(self, keys: Sequence[str], member: str) -> float:
        now = time.monotonic()
        if len(self.entries) > 10_000:  # forget addresses and accounts long quiet
            for key in list(self.entries):
                if not self._live(key, now):
                    del self.entries[key]
        windows = [self._live(key, now) for key in keys]
        waits = [min(w.values()) + WINDOW - now for w in windows if len(w) >= LIMIT]
        if waits:
            return max(waits)
        for key in keys:
            self.entries[key][member] = now
        return 0.0

    async def give_back(self, keys: Sequence[str], member: str) -> None:
        for key in keys:
            self.entries.get(key, {}).pop(member, None)


_TAKE = """
local now = redis.call('TIME')
now = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local window, limit, wait = tonumber(ARGV[1]), tonumber(ARGV[2]), 0
for _, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= limit then
    local oldest = tonumber(redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')[2])
    wait = math.max(wait, oldest + window - now, 1)
  end
end
if wait > 0 then return wait end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[3])
  redis.call('PEXPIRE', key, window)
end
return 0
"""


class RedisWindows:
    """Windows shared by every process: a sorted set of attempt ids per key, scored by the
    Redis server's clock (the processes' clocks may differ)."""

    def __init__(self, redis_url: str) -> None:
        self.redis = Redis.from_url(redis_url)
        self.script = self.redis.register_script(_TAKE)

    async def take(self, keys: Sequence[str], member: str) -> float:
        wait_ms = await self.script(keys=list(keys), args=[int(WINDOW * 1000), LIMIT, member])
        return int(wait_ms) / 1000

    async def give_back(self, keys: Sequence[str], member: str) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.zrem(key, member)
            await pipe.execute()


def _account_key(email: str) -> str:
    """Keyed by a digest, so Redis holds no email addresses."""
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    return f"plinth:login:account:{digest}"


class LoginThrottle:
    def __init__(self, redis_url: str | None) -> None:
        self.windows: Windows = RedisWindows(redis_url) if redis_url else MemoryWindows()

    @contextlib.asynccontextmanager
    async def attempt(self, email: str, ip: str) -> AsyncIterator[Attempt]:
        """The gate around one password or code check: Throttled (429) over the limit,
        HashingBusy (503, before any place is taken) while the hashing pool's waiting room is
        full. The place taken stays a failure unless the block calls `succeeded()`."""
        async with POOL.admit():
            held = Attempt((_account_key(email), f"plinth:login:ip:{ip}"), uuid.uuid4().hex)
            wait = await self.windows.take(held.keys, held.member)
            if wait > 0:
                raise Throttled(max(1, math.ceil(wait)))
            token = _admitted.set(True)
            try:
                yield held
            finally:
                _admitted.reset(token)
                if held.given_back:
                    await self.windows.give_back(held.keys, held.member)
