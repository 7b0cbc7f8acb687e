"""Opaque page cursors: the sort key values of a page's last row, bound to the list they
continue (entity, sort or record, organization) and signed with PLINTH_SECRET_KEY, so that a
cursor cannot be forged, edited, or used on another list; every such attempt is a 400 that
names the cursor, never a 500 (values are checked again against their fields' types by the
service, runtime/service/pages.py).

A cursor is `<payload>.<mac>`: the payload base64url-encoded JSON, the mac the first 128 bits
of its HMAC-SHA256 under a key derived from each secret of the key ring (any of them
verifies, the signing one signs: rotation keeps cursors working like tokens)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

from runtime.api.problems import Problem
from runtime.identity.keys import KeyRing
from runtime.limits import limits

_CONTEXT = b"plinth page cursor"
_MAC_BYTES = 16


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), _CONTEXT, hashlib.sha256).digest()


def _mac(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest()[:_MAC_BYTES]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode(keys: KeyRing, binding: list[Any], values: list[Any]) -> str:
    """The cursor of the page after the row whose key values are `values`, for the list
    that `binding` names (JSON values: kind, entity, sort or record, organization)."""
    body = json.dumps([binding, values], separators=(",", ":"), ensure_ascii=False)
    payload = _b64(body.encode("utf-8"))
    mac = _mac(_key(keys.secrets[keys.signing_kid]), payload.encode("ascii"))
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
    try:
        given = _unb64(mac)
        body = json.loads(_unb64(payload).decode("utf-8"))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise invalid from None
    signed = payload.encode("ascii")
    if not any(hmac.compare_digest(_mac(_key(s), signed), given) for s in keys.secrets.values()):
        raise invalid
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
