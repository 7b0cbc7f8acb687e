"""Opaque page cursors: the sort key values of a page's last row, bound to the list they
continue (entity, sort or record, organization), encrypted and signed with a key derived from
PLINTH_SECRET_KEY, so that a cursor shows nothing of the row (a value through a reference the
caller's row rules would hide included), and cannot be forged, edited, or used on another
list; every such attempt is a 400 that names the cursor, never a 500 (values are checked
again against their fields' types by the service, runtime/service/pages.py).

A cursor is `<payload>.<mac>`, both base64url: the payload a random nonce and the JSON
XORed with an HMAC-SHA256 keystream of it (counter mode), the mac the first 128 bits of the
payload's HMAC-SHA256 (encrypt-then-MAC). Each secret of the key ring verifies, the signing
one signs: a key rotation keeps cursors working, as it does tokens."""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import secrets
from typing import Any

from runtime.api.problems import Problem
from runtime.identity.keys import KeyRing
from runtime.limits import limits

_MAC_BYTES, _NONCE_BYTES = 16, 12


@functools.lru_cache(maxsize=64)  # a few secrets in the ring, derived once each
def _key(secret: str, use: bytes = b"mac") -> bytes:
    return hmac.new(secret.encode(), b"plinth page cursor " + use, hashlib.sha256).digest()


@functools.lru_cache(maxsize=64)
def _keyed(key: bytes) -> hmac.HMAC:
    """An HMAC-SHA256 of `key` with nothing hashed yet: copies of it skip the key setup."""
    return hmac.new(key, digestmod=hashlib.sha256)


def _hmac(key: bytes, data: bytes) -> bytes:
    mac = _keyed(key).copy()
    mac.update(data)
    return mac.digest()


def _mac(key: bytes, payload: bytes) -> bytes:
    return _hmac(key, payload)[:_MAC_BYTES]


def _xor(secret: str, nonce: bytes, data: bytes) -> bytes:
    """`data` XOR the keystream of (secret, nonce): encrypts and decrypts."""
    key = _key(secret, b"encryption")
    stream = b"".join(
        _hmac(key, nonce + block.to_bytes(4, "big")) for block in range((len(data) + 31) // 32)
    )
    size = len(data)
    mixed = int.from_bytes(data, "big") ^ int.from_bytes(stream[:size], "big")
    return mixed.to_bytes(size, "big")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode(keys: KeyRing, binding: list[Any], values: list[Any]) -> str:
    """The cursor of the page after the row whose key values are `values`, for the list
    that `binding` names (JSON values: kind, entity, sort or record, organization)."""
    body = json.dumps([binding, values], separators=(",", ":"), ensure_ascii=False)
    secret, nonce = keys.secrets[keys.signing_kid], secrets.token_bytes(_NONCE_BYTES)
    payload = _b64(nonce + _xor(secret, nonce, body.encode("utf-8")))
    mac = _mac(_key(secret), payload.encode("ascii"))
    cursor = f"{payload}.{_b64(mac)}"
    bound = limits().cursor_chars
    if len(cursor) > bound:  # only sort values thousands of characters long get here
        raise Problem(
            400,
            "Bad query",
            f"cursor: the sort values of this page's last row do not fit in {bound} "
            "characters; sort by a shorter field (or raise PLINTH_MAX_CURSOR_CHARS)",
        )
    return cursor


def decode(keys: KeyRing, raw: str | None, binding: list[Any]) -> list[Any] | None:
    """The key values a cursor of `binding`'s list carries (None without a cursor); 400
    for one this API did not give, and for one given for another list."""
    if not raw:
        return None
    invalid = Problem(400, "Bad query", "cursor: not a cursor this API gave")
    payload, dot, mac = raw.partition(".")
    if len(raw) > limits().cursor_chars or not dot or not payload.isascii() or not mac.isascii():
        raise invalid
    signed = payload.encode("ascii")
    try:
        given, sealed = _unb64(mac), _unb64(payload)
    except (ValueError, binascii.Error):
        raise invalid from None
    signer = next(
        (s for s in keys.secrets.values() if hmac.compare_digest(_mac(_key(s), signed), given)),
        None,
    )
    if signer is None:
        raise invalid
    try:
        nonce, data = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
        body = json.loads(_xor(signer, nonce, data).decode("utf-8"))
    except ValueError:  # UnicodeDecodeError and JSONDecodeError included
        raise invalid from None
    if not isinstance(body, list) or len(body) != 2 or not isinstance(body[1], list):
        raise invalid
    if body[0] != binding:
        raise Problem(
            400,
            "Bad query",
            "cursor: given for another list (another collection, sort, record or "
            "organization); ask for the first page without it",
        )
    values: list[Any] = body[1]
    return values
