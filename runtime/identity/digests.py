"""Digests of bearer secrets (refresh and API tokens) as they are stored.

The tokens carry 256 random bits, so a plain SHA-256 is enough: nobody can brute-force a
preimage of a 256-bit random value, and unlike a password hash it costs nothing per request.
A stolen table of digests gives no usable token."""

from __future__ import annotations

import hashlib
import hmac


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def same_secret(a: str, b: str) -> bool:
    """Constant-time comparison of two secrets (CSRF tokens, digests)."""
    return hmac.compare_digest(a.encode(), b.encode())
