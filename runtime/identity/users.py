"""The user table's behaviour: piccolo-admin's BaseUser with argon2 hashes.

Here beside the password hashing it relies on; `runtime/schema/platform.py` builds the
`plinth_user` table on it, per engine, with the other platform tables.
"""

from __future__ import annotations

import uuid
from typing import Any

from piccolo.apps.user.tables import BaseUser
from piccolo.table import Table

from runtime.identity.passwords import hash_password, verify_password_async
from runtime.identity.throttle import admitted


class PlinthUserBase(BaseUser):
    """piccolo-admin's user, with a UUID key and argon2 hashes (the login name is the email)."""

    def __init__(self, **kwargs: Any) -> None:
        if kwargs.get("password"):
            kwargs["password"] = self._hashed(kwargs["password"])
        Table.__init__(self, **kwargs)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "password" and isinstance(value, str):
            value = self._hashed(value)
        Table.__setattr__(self, name, value)

    @classmethod
    def _hashed(cls, password: str) -> str:
        return password if password.startswith("$argon2") else hash_password(password)

    @classmethod
    def hash_password(cls, password: str, salt: str = "", iterations: int | None = None) -> str:
        return hash_password(password)

    @classmethod
    async def login(  # type: ignore[override]  # BaseUser's ids are ints; ours are UUIDs
        cls, username: str, password: str
    ) -> uuid.UUID | None:
        """piccolo-admin's password check, only behind the login gate (admin/login_throttle.py):
        a route that reaches it any other way gets no answer but None."""
        if not admitted():
            return None
        row = (
            await cls.select(cls._meta.primary_key, cls.password, cls.active)
            .where(cls.username == username.strip().lower())
            .first()
            .run()
        )
        if not await verify_password_async(row["password"] if row else None, password):
            return None
        if row is None or not row["active"]:  # no row: the password check already failed
            return None
        user_id: uuid.UUID = row["id"]
        return user_id
