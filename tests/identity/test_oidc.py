"""OIDC: a local issuer on 127.0.0.1 (discovery + JWKS, keys made in the test); the server
accepts its good tokens, mapped to the user by email, and refuses a wrong issuer or audience,
an expired or not-yet-valid token, an unknown kid, `alg: none`, HS256 signed with the public
key, a signature by another key, and a token for nobody here."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import jwt
import pytest

from runtime.identity.oidc import OidcError, OidcVerifier
from tests.conftest import Site, with_tenants
from tests.identity.conftest import serve_with_platform
from tests.identity.oidc_issuer import AUDIENCE, Issuer


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    running = Issuer().start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def oidc_server(issuer: Issuer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    platform = f'auth: {{oidc: {{issuer: "{issuer.url}", audience: {AUDIENCE}}}}}\n'
    yield from serve_with_platform("sqlite", tmp_path_factory.mktemp("oidc"), platform)


@pytest.fixture
def site(oidc_server: Site) -> Site:
    return with_tenants(oidc_server)


def _me(site: Site, token: str, **headers: str) -> httpx.Response:
    return httpx.get(f"{site.url}/auth/me", headers={"Authorization": f"Bearer {token}", **headers})


@pytest.mark.parametrize("kid", ["rsa-1", "ec-1"])
def test_a_good_token_from_the_issuer_is_accepted(site: Site, issuer: Issuer, kid: str) -> None:
    response = _me(site, issuer.token(site.a, kid=kid))
    assert response.status_code == 200, response.text
    me = response.json()
    assert (me["auth"], me["user"]["email"]) == ("oidc", site.a)
    assert me["organization"]["slug"] == site.orgs[site.a]  # the first membership
    token = issuer.token(site.a, kid=kid)
    with httpx.Client(base_url=site.url, headers={"Authorization": f"Bearer {token}"}) as client:
        created = client.post("/api/tickets", json={"subject": "via OIDC"})
        assert created.status_code == 201, created.text
        other = client.get("/api/tickets", headers={"X-Organization": site.orgs[site.b]})
        assert other.status_code == 403


def test_a_subject_that_is_an_email_maps_to_the_user(site: Site, issuer: Issuer) -> None:
    token = issuer.token(site.a, sub=site.a, email=None, email_verified=None)
    assert _me(site, token).json()["user"]["email"] == site.a
    unverified = issuer.token(site.a, email_verified=False)  # and sub is not an email
    assert _me(site, unverified).status_code == 401


def _forgeries(issuer: Issuer, email: str) -> dict[str, str]:
    now = int(time.time())
    return {
        "wrong issuer": issuer.token(email, iss="http://127.0.0.1:1/other"),
        "wrong audience": issuer.token(email, aud="another-app"),
        "expired": issuer.token(email, iat=now - 600, exp=now - 120),
        "not yet valid": issuer.token(email, nbf=now + 600),
        "no expiry": issuer.token(email, exp=None),
        "unknown kid": _with_kid(issuer, email, "rsa-unknown"),
        "alg none": issuer.unsigned_token(email),
        "HS256 with the public key": issuer.hs256_with_public_key(email),
        "another key under a known kid": issuer.token_from_another_key(email),
        "RS256 header on the EC key": _with_kid(issuer, email, "ec-1"),
        "nobody here": issuer.token("nobody@nowhere.test"),
    }


def _with_kid(issuer: Issuer, email: str, kid: str) -> str:
    """Signed RS256 by the issuer's RSA key, but naming `kid`."""
    return jwt.encode(
        issuer.claims(email), issuer.keys["rsa-1"], algorithm="RS256", headers={"kid": kid}
    )


@pytest.mark.parametrize(
    "case",
    [
        "wrong issuer", "wrong audience", "expired", "not yet valid", "no expiry", "unknown kid",
        "alg none", "HS256 with the public key", "another key under a known kid",
        "RS256 header on the EC key", "nobody here",
    ],
)  # fmt: skip
def test_a_bad_token_is_refused(site: Site, issuer: Issuer, case: str) -> None:
    response = _me(site, _forgeries(issuer, site.a)[case])
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"


def test_keys_are_refetched_for_an_unknown_kid_at_most_once_per_interval(issuer: Issuer) -> None:
    """In process: a key the issuer adds later is found by refetching the JWKS, but a stream
    of unknown kids does not make us fetch again within `refetch_after`."""
    email = "someone@example.test"

    async def scenario() -> tuple[int, int]:
        eager = OidcVerifier(issuer.url, AUDIENCE, refetch_after=0)
        lazy = OidcVerifier(issuer.url, AUDIENCE, refetch_after=3600)
        try:
            await eager.verify(issuer.token(email))
            await lazy.verify(issuer.token(email))
            before = issuer.jwks_fetches
            issuer.add_key("rsa-2")
            assert (await eager.verify(issuer.token(email, kid="rsa-2")))["email"] == email
            for _ in range(5):
                with pytest.raises(OidcError, match="no key 'rsa-2'"):
                    await lazy.verify(issuer.token(email, kid="rsa-2"))
            return before, issuer.jwks_fetches
        finally:
            await eager.close()
            await lazy.close()

    before, after = asyncio.run(scenario())
    assert after == before + 1  # the eager verifier's refetch only


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("wrong issuer", "Invalid issuer"),
        ("wrong audience", "Audience doesn't match"),
        ("expired", "Signature has expired"),
        ("not yet valid", "not yet valid"),
        ("no expiry", 'missing the "exp" claim'),
        ("unknown kid", "no key 'rsa-unknown'"),
        ("alg none", "algorithm 'none' is not accepted"),
        ("HS256 with the public key", "algorithm 'HS256' is not accepted"),
        ("another key under a known kid", "Signature verification failed"),
        ("RS256 header on the EC key", "the key 'ec-1' is a EC key, not for RS256"),
    ],
)
def test_each_forgery_is_refused_for_its_own_reason(issuer: Issuer, case: str, reason: str) -> None:
    """In process, so the reason (which callers never see) can be asserted."""
    forged = _forgeries(issuer, "someone@example.test")[case]

    async def verify() -> None:
        verifier = OidcVerifier(issuer.url, AUDIENCE)
        try:
            await verifier.verify(forged)
        finally:
            await verifier.close()

    with pytest.raises(OidcError, match=reason):
        asyncio.run(verify())
