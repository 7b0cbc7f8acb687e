"""`email`: send a message through the deployment's SMTP server (PLINTH_SMTP_URL, as
`runtime/smtp.py` reads it) from PLINTH_EMAIL_FROM.

The standard library's smtplib does the talking, in a worker thread (`asyncio.to_thread`) so
the event loop goes on; its blocking API is short and complete (STARTTLS, implicit TLS, AUTH,
per-recipient refusals), and one message per step needs no connection pool, so no dependency
is added for it. Every socket operation times out after `TIMEOUT` seconds.

The Message-ID is made from the step's idempotency key, so the same step of the same event
always sends the same Message-ID: a message sent again after a crash between the server's
acceptance and the run's record is recognisable as the same one (and mail systems that keep
Message-IDs drop it).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import smtplib
from collections.abc import Iterable
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from typing import Any

from runtime.smtp import EMAIL_FROM, SMTP_URL, SmtpServer, parse_address, parse_smtp_url
from runtime.workflows.actions.base import ActionKind, Outbound, Step, StepFailed, StepRefused

TIMEOUT = 30.0  # seconds, for each SMTP operation
# Non-ASCII bodies go quoted-printable (any server takes them); lines are cut only at SMTP's
# hard limit, so the Message-ID header is never folded onto a second line.
_POLICY = SMTP.clone(cte_type="7bit", max_line_length=998)


async def run(args: dict[str, Any], step: Step) -> dict[str, Any]:
    server, sender = configured(step.outbound)
    message = compose(args, sender, message_id(step, sender))
    recipients = _unique(
        address.addr_spec
        for key in ("to", "cc", "bcc")
        for address in addresses(args.get(key), key)
    )
    refused = await asyncio.to_thread(send, server, message, sender.addr_spec, recipients)
    return {
        "message_id": message["Message-ID"],
        "accepted": [addr for addr in recipients if addr not in refused],
        "refused": refused,
    }


def configured(outbound: Outbound) -> tuple[SmtpServer, Address]:
    """The server and the sender; StepRefused naming the variable that is missing or bad."""
    if not outbound.smtp_url:
        raise StepRefused(f"{SMTP_URL} is not set: the email action has no server to send to")
    if not outbound.email_from:
        raise StepRefused(f"{EMAIL_FROM} is not set: the email action has no sender address")
    try:
        server = parse_smtp_url(outbound.smtp_url)
        sender = parse_address(outbound.email_from)
    except ValueError as error:
        raise StepRefused(str(error)) from None
    return server, sender


def message_id(step: Step, sender: Address) -> str:
    """`<workflow.event-id.step@sender's domain>`: the same for every attempt of the step
    (the step's key, spelt as a Message-ID). The right side is the sender's domain, as spam
    filters expect a domain there."""
    return f"<{step.workflow.name}.{step.event['id']}.{step.index}@{sender.domain}>"


def compose(args: dict[str, Any], sender: Address, msgid: str) -> EmailMessage:
    """The message the rendered `args` describe; StepRefused for a bad or missing address."""
    to = addresses(args.get("to"), "to")
    if not to:
        raise StepRefused("to: no recipient (the rendered 'to' is empty)")
    message = EmailMessage(policy=_POLICY)
    message["From"] = sender
    message["To"] = to
    for header, key in (("Cc", "cc"), ("Reply-To", "reply_to")):
        found = addresses(args.get(key), key)
        if found:
            message[header] = found
    message["Subject"] = " ".join(str(args.get("subject") or "").split())  # one line
    message["Date"] = format_datetime(dt.datetime.now(dt.UTC))
    message["Message-ID"] = msgid
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to it
    body, html = args.get("body"), args.get("html")
    if body is not None:
        message.set_content(str(body))
        if html is not None:
            message.add_alternative(str(html), subtype="html")
    else:
        message.set_content(str(html or ""), subtype="html")
    return message


def addresses(value: Any, key: str) -> list[Address]:
    """A rendered address or list of them; empty ones (a reference with no email) are left
    out, anything else that is not one address is refused."""
    items = value if isinstance(value, list) else [value]
    found: list[Address] = []
    for item in items:
        if item is None or (isinstance(item, str) and not item.strip()):
            continue
        if not isinstance(item, str):
            raise StepRefused(f"{key}: {item!r} is not an email address")
        try:
            found.append(parse_address(item.strip()))
        except ValueError as error:
            raise StepRefused(f"{key}: {error}") from None
    return found


def _unique(addrs: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(addrs))


def send(
    server: SmtpServer, message: EmailMessage, sender: str, recipients: list[str]
) -> dict[str, str]:
    """Send `message` (blocking); the recipients the server refused while taking it for the
    others. StepFailed when it may go through later, StepRefused when the server said no."""
    where = f"SMTP server {server.host}:{server.port}"
    try:
        smtp = _connect(server)
        try:
            refused = smtp.send_message(message, from_addr=sender, to_addrs=recipients)
        finally:
            _quit(smtp)
    except smtplib.SMTPRecipientsRefused as error:  # every recipient
        reasons = {addr: _reply(code, text) for addr, (code, text) in error.recipients.items()}
        codes = [code for code, _ in error.recipients.values()]
        if all(500 <= code < 600 for code in codes):
            raise StepRefused(f"{where} refused every recipient: {reasons}") from None
        raise StepFailed(f"{where} did not take the recipients for now: {reasons}") from None
    except smtplib.SMTPResponseException as error:  # sender, data, auth, greeting
        reply = _reply(error.smtp_code, error.smtp_error)
        if 500 <= error.smtp_code < 600:
            raise StepRefused(f"{where} refused the message: {reply}") from None
        raise StepFailed(f"{where} answered {reply}") from None
    except (smtplib.SMTPException, OSError) as error:  # refused, dropped, timed out, TLS
        raise StepFailed(f"{where}: {type(error).__name__}: {error}") from None
    return {addr: _reply(code, text) for addr, (code, text) in refused.items()}


def _connect(server: SmtpServer) -> smtplib.SMTP:
    """A connection ready to send: TLS as the URL asks, logged in when it has a user."""
    context = server.tls_context()
    smtp: smtplib.SMTP
    if server.implicit_tls:
        smtp = smtplib.SMTP_SSL(server.host, server.port, timeout=TIMEOUT, context=context)
    else:
        smtp = smtplib.SMTP(server.host, server.port, timeout=TIMEOUT)
    try:
        smtp.ehlo()
        if not server.implicit_tls and smtp.has_extn("starttls"):
            smtp.starttls(context=context)
            smtp.ehlo()
        elif server.require_starttls:
            raise StepFailed(
                f"SMTP server {server.host}:{server.port} does not offer STARTTLS, "
                f"which {SMTP_URL} requires (starttls=require)"
            )
        if server.username is not None:
            smtp.login(server.username, server.password or "")
    except BaseException:
        smtp.close()
        raise
    return smtp


def _quit(smtp: smtplib.SMTP) -> None:
    """Say goodbye without letting a bad answer to QUIT undo a message already taken."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        pass
    finally:
        smtp.close()


def _reply(code: int, text: bytes | str) -> str:
    decoded = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {decoded}"


ACTION = ActionKind(name="email", external=True, run=run, html_args=frozenset({"html"}))
