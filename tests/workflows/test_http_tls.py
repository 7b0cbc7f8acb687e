"""https through the guard: the socket goes to the checked address, while TLS still checks
the certificate against the host name of the URL (never against the address)."""

from __future__ import annotations

import datetime as dt
import gzip
import ssl
from pathlib import Path
from types import SimpleNamespace

import httpcore
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from runtime.workflows.actions import http
from runtime.workflows.actions.base import Outbound, Step
from runtime.workflows.net_guard import GuardedBackend
from tests.workflows.receiver import Receiver


def _self_signed(folder: Path, name: str) -> tuple[Path, Path]:
    """A certificate for the DNS name `name` only (no IP address in it), and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


async def test_tls_checks_the_name_while_the_socket_goes_to_the_checked_address(
    tmp_path: Path,
) -> None:
    cert, key = _self_signed(tmp_path, "localhost")
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(cafile=str(cert))
    with Receiver(tls=server) as hook:
        backend = GuardedBackend(["localhost", "127.0.0.1"])
        async with httpcore.AsyncConnectionPool(
            ssl_context=client, network_backend=backend
        ) as pool:
            answer = await pool.request("GET", f"https://localhost:{hook.port}/secure")
            assert (answer.status, answer.content) == (200, b"received")
            with pytest.raises(httpcore.ConnectError, match="IP address mismatch"):
                await pool.request("GET", f"https://127.0.0.1:{hook.port}/")
        assert [r.path for r in hook.requests] == ["/secure"]


async def test_a_compressed_answer_is_not_inflated_for_its_excerpt() -> None:
    with Receiver() as hook:
        hook.headers = {"Content-Encoding": "gzip"}
        hook.body = gzip.compress(b"x" * 10_000_000)
        workflow = SimpleNamespace(name="hook")
        step = Step(None, workflow, {"id": "e"}, 0, None, Outbound(("127.0.0.1",)))  # type: ignore[arg-type]
        outcome = await http.run({"url": hook.url()}, step)
        assert hook.requests[0].headers["accept-encoding"] == "identity"
    assert outcome == {"status": 200, "excerpt": "(gzip-encoded body)"}
