"""The keys that sign Plinth's own JWTs, read from PLINTH_SECRET_KEY, with rotation by `kid`.

PLINTH_SECRET_KEY is either one secret (its kid is "default") or a comma-separated list of
`kid:secret` pairs: the first pair signs new tokens, every pair verifies, chosen by the token's
`kid` header. Rotating from a single secret OLD to NEW:
`PLINTH_SECRET_KEY=2025-06:NEW,default:OLD`, then drop `default:OLD` once the longest-lived
token signed with it has expired.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt

ALGORITHM = "HS256"
DEFAULT_KID = "default"
MIN_SECRET_LENGTH = 32
_PAIR = re.compile(r"^([A-Za-z0-9._-]{1,64}):(\S+)$")


class SecretKeyError(ValueError):
    """PLINTH_SECRET_KEY is malformed; the message says how."""


@dataclass(frozen=True, slots=True)
class KeyRing:
    signing_kid: str
    secrets: Mapping[str, str]  # kid → secret

    @classmethod
    def parse(cls, value: str) -> KeyRing:
        """`"s3cret…"` → {"default": "s3cret…"}; `"k2:new…,k1:old…"` → k2 signs, both verify."""
        parts = [part.strip() for part in value.split(",")]
        pairs = [_PAIR.match(part) for part in parts]
        if len(parts) == 1 and pairs[0] is None:
            secrets = {DEFAULT_KID: parts[0]}
        elif all(pairs):
            secrets = {}
            for match in pairs:
                assert match is not None
                kid, secret = match.groups()
                if kid in secrets:
                    raise SecretKeyError(f"PLINTH_SECRET_KEY: kid {kid!r} appears twice")
                secrets[kid] = secret
        else:
            raise SecretKeyError(
                "PLINTH_SECRET_KEY: expected one secret, or 'kid:secret' pairs separated by "
                "commas (e.g. 'k2:NEWSECRET,k1:OLDSECRET')"
            )
        for kid, secret in secrets.items():
            if len(secret) < MIN_SECRET_LENGTH:
                raise SecretKeyError(
                    f"PLINTH_SECRET_KEY: the secret of kid {kid!r} is {len(secret)} characters; "
                    f"use at least {MIN_SECRET_LENGTH} (python3 -c 'import secrets; "
                    "print(secrets.token_urlsafe(48))')"
                )
        return cls(signing_kid=next(iter(secrets)), secrets=secrets)

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(
            claims,
            self.secrets[self.signing_kid],
            algorithm=ALGORITHM,
            headers={"kid": self.signing_kid},
        )

    def verify(self, token: str, **options: Any) -> dict[str, Any]:
        """The claims of a token signed by one of the keys (HS256 only).

        Raises jwt.InvalidTokenError (unknown kid, bad signature, expired, ...)."""
        header = jwt.get_unverified_header(token)
        secret = self.secrets.get(str(header.get("kid", self.signing_kid)))
        if secret is None:
            raise jwt.InvalidTokenError("the token names an unknown kid")
        return jwt.decode(token, secret, algorithms=[ALGORITHM], **options)
