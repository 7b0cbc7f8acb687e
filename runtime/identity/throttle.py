"""Login throttling: failed logins counted per account and per client IP in a moving window
of one minute; past the limit a login is refused (429) before the password is even checked.

The counters live in the `limits` library's storage: in memory without Redis, in Redis when
PLINTH_REDIS_URL is set, so that every `plinth serve` process shares them (piccolo-api's own
limiter is per process and counts by IP only)."""

from __future__ import annotations

import hashlib
import math
import time

from limits import RateLimitItem, RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

FAILURES_PER_ACCOUNT = RateLimitItemPerMinute(10, namespace="plinth-login-account")
FAILURES_PER_IP = RateLimitItemPerMinute(10, namespace="plinth-login-ip")


def _storage(redis_url: str | None) -> Storage:
    if redis_url is None:
        return MemoryStorage()
    return RedisStorage(f"async+{redis_url}", implementation="redispy", key_prefix="plinth")


def _account_key(email: str) -> str:
    """Counters are keyed by a digest, so Redis holds no email addresses."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


class LoginThrottle:
    def __init__(self, redis_url: str | None) -> None:
        self.limiter = MovingWindowRateLimiter(_storage(redis_url))

    def _limits(self, email: str, ip: str) -> list[tuple[RateLimitItem, str]]:
        return [(FAILURES_PER_ACCOUNT, _account_key(email)), (FAILURES_PER_IP, ip)]

    async def retry_after(self, email: str, ip: str) -> int | None:
        """Seconds until this account and IP may try again, or None when they may now."""
        waits = []
        for item, key in self._limits(email, ip):
            if not await self.limiter.test(item, key):
                stats = await self.limiter.get_window_stats(item, key)
                waits.append(max(1, math.ceil(stats.reset_time - time.time())))
        return max(waits) if waits else None

    async def failed(self, email: str, ip: str) -> None:
        for item, key in self._limits(email, ip):
            await self.limiter.hit(item, key)
