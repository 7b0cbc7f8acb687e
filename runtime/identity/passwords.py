"""argon2id password hashes (argon2-cffi: the OWASP-recommended algorithm, maintained).

Parameters: OWASP's Password Storage Cheat Sheet's first argon2id configuration (19 MiB,
2 iterations, 1 lane): about 60 ms per hash on a small server. argon2-cffi's own default
(64 MiB, 3 iterations, 4 lanes) costs about 0.5 s on two cores, which makes every login a
cheap way to exhaust the server. Hashes made with other parameters are upgraded at login
(`needs_rehash`).

Hashing runs in `POOL`: one thread per CPU (at most three), so that at most that many 19 MiB
buffers exist at once (in Starlette's thread pool of 40, each thread kept its own: 60
concurrent failed logins once took a server from 104 MB to 811 MB, never given back), and
each buffer is unmapped when its hash ends. Requests that would check a password take a
place in its bounded waiting room first (`POOL.admit`), so a burst waits or is refused with
503 instead of piling up."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
MAX_PASSWORD_LENGTH = 1024
HASH_MIB = 19
MEMORY_BUDGET_MIB = 64  # the most hashing may hold at once, however many CPUs: 3 threads
M_MMAP_THRESHOLD = -3  # glibc's malloc.h
WAITING_PER_THREAD = 32  # ~60 ms a hash: a full room is drained in about two seconds
T = TypeVar("T")


class HashingBusy(Exception):
    """Every hashing thread is busy and the waiting room is full: try again in `wait` s."""

    def __init__(self, wait: int) -> None:
        super().__init__(f"the server is busy checking passwords: try again in {wait} seconds")
        self.wait = wait


class HashingPool:
    """A fixed set of threads for argon2, and a bounded count of requests admitted to it."""

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self.room = threads * (1 + WAITING_PER_THREAD)
        self.admitted = 0  # requests inside `admit` (touched by the event loop only)
        self.checks = 0  # password verifications started, for tests and operators
        self._executor: ThreadPoolExecutor | None = None

    @contextlib.asynccontextmanager
    async def admit(self) -> AsyncIterator[None]:
        """A place for one request that will check a password; HashingBusy when full."""
        if self.admitted >= self.room:
            raise HashingBusy(1)
        self.admitted += 1
        try:
            yield
        finally:
            self.admitted -= 1

    async def run(self, work: Callable[[], T]) -> T:
        """`work` in one of the pool's threads (argon2 releases the GIL)."""
        if self._executor is None:
            _unmap_freed_buffers()
            self._executor = ThreadPoolExecutor(self.threads, thread_name_prefix="plinth-hash")
        return await asyncio.get_running_loop().run_in_executor(self._executor, work)


def _unmap_freed_buffers() -> None:
    """glibc raises its mmap threshold to the largest block freed, so after the first hash
    each thread's arena keeps a 19 MiB buffer for good; a fixed threshold (1 MiB) makes every
    hash buffer a mapping of its own, given back to the system when the hash ends."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc (musl maps them anyway)
        ctypes.CDLL("libc.so.6").mallopt(M_MMAP_THRESHOLD, 1 << 20)


def _threads() -> int:
    """One per CPU this process may use, within the memory budget."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MEMORY_BUDGET_MIB // HASH_MIB))


POOL = HashingPool(_threads())


def hash_password(password: str) -> str:
    if not password:
        raise ValueError("password must not be empty")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValueError(f"password is longer than {MAX_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


async def hash_password_async(password: str) -> str:
    """hash_password in the pool."""
    return await POOL.run(lambda: hash_password(password))


def verify_password(stored: str | None, password: str) -> bool:
    """True when `password` matches `stored`; with no stored hash it still spends the same
    time, so a login cannot tell a missing account from a wrong password."""
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        return _hasher.verify(stored or _dummy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash() -> str:
    """Hashed once, on the first login of a missing account (not at import: every `plinth`
    command imports this module)."""
    return _hasher.hash("plinth-dummy-password")


async def verify_password_async(stored: str | None, password: str) -> bool:
    """verify_password in the pool, counted in `POOL.checks`."""
    POOL.checks += 1
    return await POOL.run(lambda: verify_password(stored, password))


def needs_rehash(stored: str) -> bool:
    """Whether a hash was made with other parameters than ours (rehash it at login)."""
    try:
        return _hasher.check_needs_rehash(stored)
    except InvalidHashError:
        return True
