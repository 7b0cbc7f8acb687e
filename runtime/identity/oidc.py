"""Bearer JWTs from an external OpenID Connect issuer (platform.yaml `auth.oidc`).

The issuer's discovery document names its JWKS; the keys are fetched with httpx and cached,
and fetched again when a token names an unknown `kid` (at most once per `refetch_after`
seconds, so garbage tokens cannot make us hammer the issuer). A token is accepted only when
its signature verifies with the JWK of its `kid` under that key's own asymmetric algorithm
(`alg: none`, HS256 and other shared-secret algorithms are refused, so a public key can never
be used as an HMAC secret), and `iss`, `aud`, `exp` (and `nbf` when present) hold."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import httpx
import jwt

ASYMMETRIC = {
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
}  # fmt: skip
_FAMILY = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}  # algorithm prefix → JWK kty
LEEWAY_SECONDS = 30  # clock skew between the issuer and us


class OidcError(Exception):
    """A token from the issuer is not acceptable; the message says why (for logs, not
    for callers)."""


class OidcVerifier:
    def __init__(
        self,
        issuer: str,
        audience: str | Sequence[str],
        *,
        jwks_uri: str | None = None,
        algorithms: Sequence[str] | None = None,
        refetch_after: float = 60.0,
        timeout: float = 5.0,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.algorithms = ASYMMETRIC & set(algorithms or ASYMMETRIC)
        self.refetch_after = refetch_after
        self._jwks_uri = jwks_uri
        self._keys: dict[str | None, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()
        self._http = httpx.AsyncClient(timeout=timeout, follow_redirects=False)

    @classmethod
    def from_settings(cls, oidc: dict[str, Any]) -> OidcVerifier:
        """From platform.yaml's `auth.oidc` mapping."""
        return cls(
            oidc["issuer"],
            oidc["audience"],
            jwks_uri=oidc.get("jwks_uri"),
            algorithms=oidc.get("algorithms"),
        )

    async def close(self) -> None:
        await self._http.aclose()

    async def verify(self, token: str) -> dict[str, Any]:
        """The claims of an acceptable token. Raises OidcError."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as error:
            raise OidcError(f"malformed token: {error}") from None
        alg = header.get("alg")
        if alg not in self.algorithms:
            raise OidcError(f"algorithm {alg!r} is not accepted")
        key = await self._key(header.get("kid"))
        if key.algorithm_name != alg and key._jwk_data.get("alg"):
            raise OidcError(f"the key {header.get('kid')!r} is for {key.algorithm_name}, not {alg}")
        if _FAMILY.get(str(alg)[:2]) != key.key_type:
            raise OidcError(f"the key {header.get('kid')!r} is a {key.key_type} key, not for {alg}")
        try:
            return jwt.decode(
                token,
                key=key.key,
                algorithms=[alg],
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.InvalidTokenError as error:
            raise OidcError(str(error)) from None

    async def _key(self, kid: str | None) -> jwt.PyJWK:
        key = self._lookup(kid)
        if key is not None:
            return key
        async with self._lock:
            key = self._lookup(kid)
            due = self._fetched_at is None or (
                time.monotonic() - self._fetched_at >= self.refetch_after
            )
            if key is None and due:
                await self._fetch_keys()
                key = self._lookup(kid)
        if key is None:
            raise OidcError(f"no key {kid!r} in the issuer's JWKS")
        return key

    def _lookup(self, kid: str | None) -> jwt.PyJWK | None:
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        return self._keys.get(kid) if kid is not None else None

    async def _fetch_keys(self) -> None:
        self._fetched_at = time.monotonic()
        try:
            uri = self._jwks_uri or await self._discover()
            response = await self._http.get(uri)
            response.raise_for_status()
            keyset = jwt.PyJWKSet.from_dict(response.json())
        except (httpx.HTTPError, ValueError, jwt.PyJWKSetError) as error:
            raise OidcError(f"cannot fetch the issuer's keys: {error}") from None
        self._keys = {
            key.key_id: key
            for key in keyset.keys
            if key.key_type in ("RSA", "EC", "OKP")
            and key.algorithm_name in ASYMMETRIC
            and key.public_key_use in (None, "sig")
        }

    async def _discover(self) -> str:
        url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        response = await self._http.get(url)
        response.raise_for_status()
        document = response.json()
        if document.get("issuer") != self.issuer:
            raise ValueError(f"the discovery document names issuer {document.get('issuer')!r}")
        self._jwks_uri = str(document["jwks_uri"])
        return self._jwks_uri
