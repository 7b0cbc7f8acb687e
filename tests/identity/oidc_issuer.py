"""A local OpenID Connect issuer for the tests: discovery and JWKS served over HTTP on
127.0.0.1, keys made here, and tokens signed with them (or forged in the ways attackers do)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

AUDIENCE = "plinth-tests"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Issuer:
    """Start with `start()`, stop with `stop()`; `url` is its issuer identifier."""

    def __init__(self) -> None:
        self.keys: dict[str, Any] = {
            "rsa-1": rsa.generate_private_key(public_exponent=65537, key_size=2048),
            "ec-1": ec.generate_private_key(ec.SECP256R1()),
        }
        self.published = ["rsa-1", "ec-1"]
        self.jwks_fetches = 0
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration":
                    body = {"issuer": issuer.url, "jwks_uri": f"{issuer.url}/jwks"}
                elif self.path == "/jwks":
                    issuer.jwks_fetches += 1
                    body = issuer.jwks()
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> Issuer:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid in self.published:
            public = self.keys[kid].public_key()
            if kid.startswith("rsa"):
                jwk = RSAAlgorithm.to_jwk(public, as_dict=True) | {"alg": "RS256"}
            else:
                jwk = ECAlgorithm.to_jwk(public, as_dict=True)  # no "alg": from kty and crv
            keys.append(jwk | {"kid": kid, "use": "sig"})
        return {"keys": keys}

    def add_key(self, kid: str) -> None:
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.published.append(kid)

    def claims(self, user: str, **overrides: Any) -> dict[str, Any]:
        """Claims of a good token for the user with email `user` (None in `overrides` drops
        a claim)."""
        now = int(time.time())
        claims = {
            "iss": self.url,
            "aud": AUDIENCE,
            "sub": f"subject-{user}",
            "email": user,
            "email_verified": True,
            "iat": now,
            "exp": now + 300,
        }
        return {k: v for k, v in (claims | overrides).items() if v is not None}

    def token(self, user: str, *, kid: str = "rsa-1", alg: str | None = None, **claims: Any) -> str:
        algorithm = alg or ("RS256" if kid.startswith("rsa") else "ES256")
        return jwt.encode(
            self.claims(user, **claims), self.keys[kid], algorithm=algorithm, headers={"kid": kid}
        )

    def unsigned_token(self, email: str) -> str:
        """`alg: none`: no signature at all."""
        header = {"alg": "none", "typ": "JWT", "kid": "rsa-1"}
        payload = self.claims(email)
        return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}."

    def hs256_with_public_key(self, email: str) -> str:
        """The key-confusion forgery: HS256 with the issuer's public key (PEM) as the secret."""
        pem = (
            self.keys["rsa-1"]
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}).encode())
        payload = _b64(json.dumps(self.claims(email)).encode())
        signing_input = f"{header}.{payload}".encode()
        signature = hmac.new(pem, signing_input, hashlib.sha256).digest()
        return f"{header}.{payload}.{_b64(signature)}"

    def token_from_another_key(self, email: str) -> str:
        """Signed by a key the issuer never published, under a published kid."""
        stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return jwt.encode(self.claims(email), stranger, algorithm="RS256", headers={"kid": "rsa-1"})
