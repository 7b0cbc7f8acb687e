"""The SMTP settings, PLINTH_SMTP_URL and PLINTH_EMAIL_FROM: one parser for both readers, the
start-up settings (which refuse a malformed value before anything runs) and the email action.

`smtp://[user:pass@]host[:port]` talks plain SMTP (port 25) and upgrades with STARTTLS when the
server offers it; `?starttls=require` refuses to send without it. `smtps://` is implicit TLS
(port 465). User and password are URL-encoded. `?cafile=/path` names a PEM file of the CA
certificates to trust instead of the system's (a private relay's own certificate).

It imports only the standard library: both `runtime.settings` and `runtime.workflows` use it,
and the workflows already depend on the settings' package.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.utils import getaddresses
from urllib.parse import parse_qs, unquote, urlsplit

SMTP_URL = "PLINTH_SMTP_URL"
EMAIL_FROM = "PLINTH_EMAIL_FROM"
_PORTS = {"smtp": 25, "smtps": 465}
_STARTTLS = ("auto", "require")


class SmtpSettingError(ValueError):
    """A malformed SMTP setting; the message names the variable."""


@dataclass(frozen=True, slots=True)
class SmtpServer:
    """Where and how email is sent."""

    host: str
    port: int
    implicit_tls: bool  # smtps://: TLS from the first byte
    require_starttls: bool  # smtp://...?starttls=require
    username: str | None = None
    password: str | None = None
    cafile: str | None = None

    @property
    def verifies(self) -> bool:
        """Whether the server's certificate is checked. Opportunistic STARTTLS (plain smtp://
        without a cafile) encrypts without checking, as mail servers do between themselves:
        it is never worse than the plain connection it replaces, and a local relay's
        self-signed certificate does not stop the mail."""
        return self.implicit_tls or self.require_starttls or self.cafile is not None

    def tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.cafile)
        if not self.verifies:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context


def parse_smtp_url(url: str) -> SmtpServer:
    """The server `url` names; SmtpSettingError (naming PLINTH_SMTP_URL) when malformed."""

    def malformed(why: str) -> SmtpSettingError:
        return SmtpSettingError(f"{SMTP_URL}={_masked(url)!r}: {why}")

    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise malformed(str(error)) from None
    if parts.scheme not in _PORTS:
        raise malformed("expected smtp://[user:pass@]host[:port] or smtps://...")
    if not parts.hostname:
        raise malformed("no host")
    if parts.path not in ("", "/") or parts.fragment:
        raise malformed("expected no path after the host")
    query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=False)
    unknown = sorted(set(query) - {"starttls", "cafile"})
    if unknown:
        raise malformed(f"unknown option '{unknown[0]}' (known: starttls, cafile)")
    options = {name: values[-1] for name, values in query.items()}
    starttls = options.get("starttls", "auto")
    if starttls not in _STARTTLS:
        raise malformed(f"starttls must be auto or require, got {starttls!r}")
    if parts.scheme == "smtps" and "starttls" in options:
        raise malformed("starttls applies to smtp://; smtps:// is TLS from the start")
    if parts.password is not None and not parts.username:
        raise malformed("a password needs a user")
    return SmtpServer(
        host=parts.hostname,
        port=port or _PORTS[parts.scheme],
        implicit_tls=parts.scheme == "smtps",
        require_starttls=starttls == "require",
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        cafile=options.get("cafile") or None,
    )


def _masked(url: str) -> str:
    """`url` without its password, for messages and logs."""
    head, at, tail = url.rpartition("@")
    if not at or "://" not in head:
        return url
    scheme, _, userinfo = head.partition("://")
    user = userinfo.partition(":")[0]
    return f"{scheme}://{user}:***@{tail}" if ":" in userinfo else url


def parse_address(text: str) -> Address:
    """One address, bare (`a@example.com`) or named (`Help desk <a@example.com>`); ValueError
    when it is not one."""
    if any(ord(char) < 32 for char in text):
        raise ValueError(f"{text!r} is not an email address")
    found = getaddresses([text])
    if len(found) != 1:
        raise ValueError(f"{text!r} is not one email address")
    name, addr = found[0]
    local, at, domain = addr.rpartition("@")
    if not at or not local or not domain or "." not in domain.strip("."):
        raise ValueError(f"{text!r} is not an email address")
    if not addr.isascii():
        raise ValueError(f"{text!r}: only ASCII addresses can be sent to")
    try:
        return Address(display_name=name, addr_spec=addr)
    except (ValueError, HeaderParseError):
        raise ValueError(f"{text!r} is not an email address") from None


def email_settings(environ: Mapping[str, str]) -> tuple[str | None, str | None]:
    """PLINTH_SMTP_URL and PLINTH_EMAIL_FROM, checked (SmtpSettingError); each None when
    unset, which is allowed: only an email action needs them."""
    url = environ.get(SMTP_URL) or None
    sender = environ.get(EMAIL_FROM) or None
    if url is not None:
        cafile = parse_smtp_url(url).cafile
        if cafile is not None and not os.path.isfile(cafile):
            raise SmtpSettingError(f"{SMTP_URL}: cafile {cafile!r} is not a file")
    if sender is not None:
        try:
            parse_address(sender)
        except ValueError as error:
            raise SmtpSettingError(f"{EMAIL_FROM}: {error}") from None
    return url, sender
