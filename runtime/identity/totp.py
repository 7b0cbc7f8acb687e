"""Second factor: time-based one-time passwords (RFC 6238, pyotp) and recovery codes.

Enrolment is two steps: `start_enrolment` makes a secret and recovery codes (shown once) that
count for nothing until `confirm_enrolment` receives a code from the user's app, so a user who
never scanned the QR code is not locked out. A code is accepted in the 30-second step before,
at or after now, and each step once only (`last_step`: a code seen on the wire cannot be
replayed). Recovery codes carry about 62 random bits and are stored as SHA-256 digests, like
refresh tokens (runtime/identity/digests.py); each works once.

The secret is stored as it is (base32): reading the table gives codes, but not the password
that a login needs first.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyotp
import segno

from runtime.identity.digests import same_secret, token_digest

if TYPE_CHECKING:  # the tables are built by runtime/schema, which builds on identity
    from runtime.schema.registry import Registry

RECOVERY_CODES = 10
STEP_SECONDS = 30
_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no 0/o, 1/l: codes are typed from paper


@dataclass(frozen=True, slots=True)
class Enrolment:
    """What the user sees once: the secret (as a QR code and as text) and recovery codes."""

    enrolment_id: uuid.UUID
    secret: str
    uri: str  # otpauth://, what the QR code holds
    recovery_codes: list[str]

    def qr_svg_data_uri(self) -> str:
        return segno.make(self.uri, error="m").svg_data_uri(scale=4)


def _recovery_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(12))
    return f"{raw[:6]}-{raw[6:]}"


def _normal(code: str) -> str:
    return code.strip().lower().replace(" ", "")


async def _active(registry: Registry, user_id: uuid.UUID) -> dict[str, Any] | None:
    table = registry.totp
    row: dict[str, Any] | None = await (
        table.select().where(table.user == user_id, table.confirmed_at.is_not_null()).first().run()
    )
    return row


async def is_enrolled(registry: Registry, user_id: uuid.UUID) -> bool:
    table = registry.totp
    enrolled: bool = await (
        table.exists().where(table.user == user_id, table.confirmed_at.is_not_null()).run()
    )
    return enrolled


async def start_enrolment(registry: Registry, user_id: uuid.UUID, *, issuer: str) -> Enrolment:
    """A new, unconfirmed secret for the user (replacing any unconfirmed one)."""
    table, user = registry.totp, registry.user
    row = await user.select(user.email).where(user.id == user_id).first().run()
    if row is None:
        raise LookupError(f"no user {user_id}")
    await table.delete().where(table.user == user_id, table.confirmed_at.is_null()).run()
    secret = pyotp.random_base32()
    codes = [_recovery_code() for _ in range(RECOVERY_CODES)]
    row_id = uuid.uuid4()
    await table.insert(
        table(
            id=row_id,
            user=user_id,
            secret=secret,
            recovery_codes=" ".join(token_digest(c) for c in codes),
            last_step=0,
            confirmed_at=None,
        )
    ).run()
    uri = pyotp.TOTP(secret).provisioning_uri(name=row["email"], issuer_name=issuer)
    return Enrolment(enrolment_id=row_id, secret=secret, uri=uri, recovery_codes=codes)


async def confirm_enrolment(
    registry: Registry, user_id: uuid.UUID, enrolment_id: uuid.UUID, code: str
) -> bool:
    """Turns the user's pending secret on when `code` is a current code of it."""
    table = registry.totp
    row = await (
        table.select()
        .where(table.id == enrolment_id, table.user == user_id, table.confirmed_at.is_null())
        .first()
        .run()
    )
    if row is None or not await _claim_step(registry, row, code):
        return False
    await table.delete().where(table.user == user_id, table.id != enrolment_id).run()
    now = dt.datetime.now(dt.UTC)
    await table.update({table.confirmed_at: now}).where(table.id == enrolment_id).run()
    return True


async def disable(registry: Registry, user_id: uuid.UUID) -> None:
    table = registry.totp
    await table.delete().where(table.user == user_id).run()


async def verify(registry: Registry, user_id: uuid.UUID, code: str) -> bool:
    """True for a current, unused code of the user's app, or one of their unused recovery
    codes (which is then used up)."""
    row = await _active(registry, user_id)
    if row is None:
        return False
    code = _normal(code)
    if len(code) == 6 and code.isdigit():
        return await _claim_step(registry, row, code)
    return await _use_recovery_code(registry, row, code)


async def _claim_step(registry: Registry, row: dict[str, Any], code: str) -> bool:
    """Accepts `code` for the step before, at or after now, if that step is newer than the
    last one accepted; the update claims it, so two requests cannot both use one code."""
    code = _normal(code)
    if len(code) != 6 or not code.isdigit():
        return False
    totp = pyotp.TOTP(row["secret"])
    now = int(time.time()) // STEP_SECONDS
    for step in (now - 1, now, now + 1):
        if step > row["last_step"] and same_secret(totp.at(step * STEP_SECONDS), code):
            table = registry.totp
            claimed = await (
                table.update({table.last_step: step})
                .where(table.id == row["id"], table.last_step < step)
                .returning(table.id)
                .run()
            )
            return bool(claimed)
    return False


async def _use_recovery_code(registry: Registry, row: dict[str, Any], code: str) -> bool:
    digest = token_digest(code if "-" in code else f"{code[:6]}-{code[6:]}")
    stored = row["recovery_codes"].split()
    if digest not in stored:
        return False
    table = registry.totp
    left = " ".join(d for d in stored if d != digest)
    claimed = await (
        table.update({table.recovery_codes: left})
        .where(table.id == row["id"], table.recovery_codes == row["recovery_codes"])
        .returning(table.id)
        .run()
    )
    return bool(claimed)


async def recovery_codes_left(registry: Registry, user_id: uuid.UUID) -> int:
    row = await _active(registry, user_id)
    return len(row["recovery_codes"].split()) if row else 0
