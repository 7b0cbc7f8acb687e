"""PLINTH_SECRET_KEY: one secret, or `kid:secret` pairs (the first signs, all verify)."""

from __future__ import annotations

import jwt
import pytest

from runtime.identity.keys import KeyRing, SecretKeyError
from runtime.settings import SettingsError, read_settings

OLD, NEW = "o" * 40, "n" * 40


def test_a_single_secret_is_the_default_kid() -> None:
    ring = KeyRing.parse(OLD)
    token = ring.sign({"sub": "x"})
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "kid": "default", "typ": "JWT"}
    assert ring.verify(token) == {"sub": "x"}


def test_the_first_pair_signs_and_every_pair_verifies() -> None:
    old = KeyRing.parse(OLD)
    rotated = KeyRing.parse(f"2025:{NEW}, default:{OLD}")
    assert rotated.signing_kid == "2025"
    assert rotated.verify(old.sign({"sub": "old"})) == {"sub": "old"}
    fresh = rotated.sign({"sub": "new"})
    with pytest.raises(jwt.InvalidTokenError, match="unknown kid"):
        old.verify(fresh)
    retired = KeyRing.parse(f"2025:{NEW}")
    with pytest.raises(jwt.InvalidTokenError):
        retired.verify(old.sign({"sub": "old"}))


def test_a_token_signed_with_another_secret_under_a_known_kid_is_refused() -> None:
    forged = jwt.encode({"sub": "x"}, "f" * 40, algorithm="HS256", headers={"kid": "default"})
    with pytest.raises(jwt.InvalidSignatureError):
        KeyRing.parse(OLD).verify(forged)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("short", "is 5 characters; use at least 32"),
        (f"a:{OLD},a:{NEW}", "kid 'a' appears twice"),
        (f"a:{OLD},{NEW}", "expected one secret, or 'kid:secret' pairs"),
        (f"a:{OLD},b:short", "the secret of kid 'b' is 5 characters"),
    ],
)
def test_malformed_keys_are_refused_at_start(value: str, message: str) -> None:
    with pytest.raises(SecretKeyError, match=message):
        KeyRing.parse(value)
    env = {"PLINTH_DATABASE_URL": "postgres://x/y", "PLINTH_SECRET_KEY": value}
    with pytest.raises(SettingsError, match="PLINTH_SECRET_KEY"):
        read_settings(env)
