"""argon2id password hashes (argon2-cffi: the OWASP-recommended algorithm, maintained)."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
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
