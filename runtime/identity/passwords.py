"""argon2id password hashes (argon2-cffi: the OWASP-recommended algorithm, maintained).

Parameters: OWASP's Password Storage Cheat Sheet's first argon2id configuration (19 MiB,
2 iterations, 1 lane): about 60 ms per hash on a small server. argon2-cffi's own default
(64 MiB, 3 iterations, 4 lanes) costs about 0.5 s on two cores, which makes every login a
cheap way to exhaust the server. Hashes made with other parameters are upgraded at login
(`needs_rehash`). Verification runs in a worker thread (`verify_password_async`), so a
login never blocks the event loop."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from starlette.concurrency import run_in_threadpool

_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
MAX_PASSWORD_LENGTH = 1024


def hash_password(password: str) -> str:
    if not password:
        raise ValueError("password must not be empty")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValueError(f"password is longer than {MAX_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


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
    """verify_password in a worker thread (argon2 releases the GIL)."""
    return await run_in_threadpool(verify_password, stored, password)


def needs_rehash(stored: str) -> bool:
    """Whether a hash was made with other parameters than ours (rehash it at login)."""
    try:
        return _hasher.check_needs_rehash(stored)
    except InvalidHashError:
        return True
