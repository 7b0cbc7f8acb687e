"""The email action against a real SMTP server (aiosmtpd on a free port): the guide's
`confirm_ticket` end to end, AUTH, STARTTLS and implicit TLS with a self-signed certificate,
what the server's answers do to the run, and the SMTP settings."""

from __future__ import annotations

import shutil
import urllib.parse
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from runtime.access import Principal
from runtime.database import close_engine, engine_from_url, open_engine
from runtime.definitions import load_project
from runtime.schema import build_registry
from runtime.service import RecordService
from runtime.settings import SettingsError, read_settings
from runtime.workflows.actions.base import Outbound, Step
from runtime.workflows.actions.email import run as send_email
from runtime.workflows.outbox_claims import claim_events
from runtime.workflows.runner import steps_of
from runtime.workflows.workers import process
from tests.conftest import free_port, plinth, plinth_env
from tests.workflows.guide import write_project
from tests.workflows.smtp_server import Keeper, authenticator, self_signed, server_tls, smtp_server

SENDER = "Helpdesk <noreply@helpdesk.example>"
TEXT = (
    'Hello,\n\nyour ticket "Printer <on fire>" (priority 2) is in our queue.\n'
    "Reply to this message to add to it.\n"
)


def _migrate(database_url: str, root: Path) -> Path:
    definitions = write_project(root / "definitions", workflows=["confirm_ticket"])
    env = plinth_env(database_url, root, PLINTH_DEFINITIONS=str(definitions))
    plinth("migrate", env=env, cwd=root)
    return definitions


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The guide's project migrated once on SQLite: (definitions, database file to copy)."""
    root = tmp_path_factory.mktemp("helpdesk")
    definitions = _migrate(f"sqlite:///{root / 'template.sqlite3'}", root)
    return definitions, root / "template.sqlite3"


class Desk:
    """The guide's project on one database: tickets in, events drained, runs read back."""

    def __init__(self, service: RecordService, owner: Principal) -> None:
        self.service, self.owner = service, owner

    async def ticket(self, email: str | None, subject: str = "Printer <on fire>") -> None:
        values = {"subject": subject, "priority": 2, "email": email}
        await self.service.create(self.owner, "Ticket", values)

    async def drain(self, smtp_url: str | None, email_from: str | None = SENDER) -> None:
        """What a worker does: claim the due events and run them."""
        outbound = Outbound(allow_hosts=(), smtp_url=smtp_url, email_from=email_from)
        while claimed := await claim_events(self.service.registry):
            for event, claim in claimed:
                await process(self.service, event, claim, outbound)

    async def runs(self) -> list[dict[str, Any]]:
        runs = self.service.registry.workflow_run
        return list(await runs.select().order_by(runs.created_at).run())

    async def make_due(self) -> None:
        """Skip the wait before the failed runs' retry."""
        runs, outbox = self.service.registry.workflow_run, self.service.registry.outbox
        await runs.update({runs.next_attempt_at: None}).where(runs.status == "failed").run()
        await outbox.update({outbox.available_at: None}).where(outbox.dispatched_at.is_null()).run()


@asynccontextmanager
async def desk(database_url: str, definitions: Path) -> AsyncIterator[Desk]:
    engine = engine_from_url(database_url)
    registry = build_registry(load_project(definitions), engine)
    await open_engine(engine)
    try:
        org = registry.organization
        slug = f"org-{uuid.uuid4().hex[:6]}"
        tenant = (await org.insert(org(slug=slug, name=slug)).returning(org.id).run())[0]["id"]
        owner = Principal(tenant_id=tenant, actor="owner", roles=frozenset({"owner"}))
        yield Desk(RecordService(registry), owner)
    finally:
        await close_engine(engine)


@pytest.fixture
async def helpdesk(template: tuple[Path, Path], tmp_path: Path) -> AsyncIterator[Desk]:
    """A fresh copy of the migrated SQLite project."""
    definitions, database = template
    shutil.copy(database, tmp_path / "plinth.sqlite3")
    async with desk(f"sqlite:///{tmp_path / 'plinth.sqlite3'}", definitions) as opened:
        yield opened


async def test_the_guides_confirmation_is_sent_once_with_a_stable_message_id(
    database_url: str, tmp_path: Path
) -> None:
    definitions = _migrate(database_url, tmp_path)
    keeper = Keeper()
    with smtp_server(keeper) as port:
        async with desk(database_url, definitions) as helpdesk:
            await helpdesk.ticket("ada@example.com")
            await helpdesk.ticket(None, subject="Phoned in")  # `when`: no email, no message
            await helpdesk.drain(f"smtp://127.0.0.1:{port}")
            await helpdesk.drain(f"smtp://127.0.0.1:{port}")  # nothing is left to send
            sent, skipped = await helpdesk.runs()

    [got] = keeper.received
    message_id = f"<confirm_ticket.{sent['event_id']}.0@helpdesk.example>"
    assert (got.mail_from, got.rcpt_tos) == ("noreply@helpdesk.example", ["ada@example.com"])
    message = got.message
    assert message["From"] == SENDER and message["To"] == "ada@example.com"
    assert message["Reply-To"] == "Helpdesk <support@helpdesk.example>"
    assert message["Subject"] == "We got your ticket: Printer <on fire>"
    assert message["Message-ID"] == message_id
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/alternative"
    assert message.get_body(("plain",)).get_content() == TEXT  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "<p>your ticket <b>Printer &lt;on fire&gt;</b> (priority 2)" in html  # escaped
    assert (sent["status"], sent["attempts"], sent["last_error"]) == ("succeeded", 1, None)
    outcome = {"message_id": message_id, "accepted": ["ada@example.com"], "refused": {}}
    assert steps_of(sent) == [{"action": "email", **outcome}]
    assert (skipped["status"], skipped["last_error"]) == ("skipped", "'when' did not match")


async def test_a_server_that_is_down_fails_the_run_which_the_retry_sends(
    helpdesk: Desk,
) -> None:
    port = free_port()  # nothing listens there yet
    await helpdesk.ticket("ada@example.com")
    await helpdesk.drain(f"smtp://127.0.0.1:{port}")
    [failed] = await helpdesk.runs()
    assert (failed["status"], failed["attempts"]) == ("failed", 1)
    assert "ConnectionRefusedError" in failed["last_error"]
    assert failed["next_attempt_at"] is not None  # retry: 30s first
    await helpdesk.drain(f"smtp://127.0.0.1:{port}")  # not due yet: not tried again
    assert (await helpdesk.runs())[0]["attempts"] == 1

    keeper = Keeper()
    with smtp_server(keeper, port=port):
        await helpdesk.make_due()
        await helpdesk.drain(f"smtp://127.0.0.1:{port}")
    [run] = await helpdesk.runs()
    assert (run["status"], run["attempts"]) == ("succeeded", 2)
    [got] = keeper.received
    assert got.message["Message-ID"] == steps_of(run)[0]["message_id"]


@pytest.mark.parametrize(
    ("smtp_url", "email_from", "reason"),
    [
        (None, SENDER, "refused: PLINTH_SMTP_URL is not set: the email action has no server"),
        ("smtp://127.0.0.1:1", None, "refused: PLINTH_EMAIL_FROM is not set"),
    ],
)
async def test_a_missing_setting_makes_the_run_dead_at_once(
    helpdesk: Desk, smtp_url: str | None, email_from: str | None, reason: str
) -> None:
    await helpdesk.ticket("ada@example.com")
    await helpdesk.drain(smtp_url, email_from)
    [run] = await helpdesk.runs()
    assert (run["status"], run["attempts"]) == ("dead", 1)
    assert run["last_error"].startswith(reason)


async def test_the_servers_answers_decide_the_run(helpdesk: Desk) -> None:
    """A recipient that is not one address, or refused for good (5xx): dead at once; refused
    for now (4xx): failed, to be retried."""
    refuse = {"gone@example.com": "550 5.1.1 No such user", "busy@example.com": "450 4.2.1 Busy"}
    keeper = Keeper(refuse=refuse)
    with smtp_server(keeper) as port:
        for email in ("bob,alice@example.com", "gone@example.com", "busy@example.com"):
            await helpdesk.ticket(email)
        await helpdesk.drain(f"smtp://127.0.0.1:{port}")
    invalid, gone, busy = await helpdesk.runs()
    assert keeper.received == []
    assert (invalid["status"], invalid["last_error"]) == (
        "dead",
        "refused: to: 'bob,alice@example.com' is not one email address",
    )
    assert gone["status"] == "dead"
    assert "refused every recipient" in gone["last_error"]
    assert "550 5.1.1 No such user" in gone["last_error"]
    assert busy["status"] == "failed" and "450 4.2.1 Busy" in busy["last_error"]


async def test_some_recipients_refused_the_others_get_it_and_bcc_stays_hidden(
    helpdesk: Desk,
) -> None:
    keeper = Keeper(refuse={"gone@example.com": "550 5.1.1 No such user"})
    service = helpdesk.service
    with smtp_server(keeper) as port:
        outbound = Outbound(smtp_url=f"smtp://127.0.0.1:{port}", email_from=SENDER)
        event = {"id": uuid.uuid4()}
        workflow = service.project.workflows["confirm_ticket"]
        step = Step(service, workflow, event, 3, helpdesk.owner, outbound)
        args = {
            "to": ["ada@example.com", "gone@example.com"],
            "cc": ["", None],  # references with no email: left out
            "bcc": "audit@example.com",
            "subject": "Line one\nline two",
            "html": "<p>Hi</p>",
        }
        outcome = await send_email(args, step)
    [got] = keeper.received
    assert got.rcpt_tos == ["ada@example.com", "audit@example.com"]
    assert outcome == {
        "message_id": f"<confirm_ticket.{event['id']}.3@helpdesk.example>",
        "accepted": ["ada@example.com", "audit@example.com"],
        "refused": {"gone@example.com": "550 5.1.1 No such user"},
    }
    message = got.message
    assert message["Bcc"] is None and message["Cc"] is None
    assert message["Subject"] == "Line one line two"
    assert message.get_content_type() == "text/html"
    assert message.get_content() == "<p>Hi</p>\n"


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_auth_logs_in_with_the_url_encoded_user_and_password(helpdesk: Desk) -> None:
    user, password = "bot@helpdesk.example", "p@ss:w/rd %"
    keeper = Keeper()
    auth = {"auth_required": True, "auth_require_tls": False}
    with smtp_server(keeper, authenticator=authenticator(user, password), **auth) as port:
        quoted = f"{urllib.parse.quote(user, safe='')}:{urllib.parse.quote(password, safe='')}"
        await helpdesk.ticket("ada@example.com")
        await helpdesk.drain(f"smtp://{quoted}@127.0.0.1:{port}")
        await helpdesk.ticket("bob@example.com")
        await helpdesk.drain(f"smtp://{urllib.parse.quote(user, safe='')}:wrong@127.0.0.1:{port}")
    [got] = keeper.received
    assert (got.login, got.rcpt_tos) == (user, ["ada@example.com"])
    sent, refused = await helpdesk.runs()
    assert sent["status"] == "succeeded"
    assert refused["status"] == "dead" and "535" in refused["last_error"]


async def test_starttls_with_a_self_signed_certificate(helpdesk: Desk, tmp_path: Path) -> None:
    """Opportunistic STARTTLS encrypts without checking the certificate; starttls=require
    checks it, so it needs the certificate as its cafile."""
    cert, key = self_signed(tmp_path)
    keeper = Keeper()
    with smtp_server(keeper, tls_context=server_tls(cert, key), require_starttls=True) as port:
        base = f"smtp://127.0.0.1:{port}"
        for url in (f"{base}?starttls=require&cafile={cert}", base, f"{base}?starttls=require"):
            await helpdesk.ticket("ada@example.com")
            await helpdesk.drain(url)
    verified, opportunistic, unverified = await helpdesk.runs()
    assert [got.tls for got in keeper.received] == [True, True]
    assert verified["status"] == opportunistic["status"] == "succeeded"
    assert unverified["status"] == "failed"
    assert "CERTIFICATE_VERIFY_FAILED" in unverified["last_error"]


async def test_implicit_tls_and_a_required_starttls_the_server_lacks(
    helpdesk: Desk, tmp_path: Path
) -> None:
    cert, key = self_signed(tmp_path)
    keeper = Keeper()
    with smtp_server(keeper, ssl_context=server_tls(cert, key)) as port:
        await helpdesk.ticket("ada@example.com")
        await helpdesk.drain(f"smtps://127.0.0.1:{port}?cafile={cert}")
    with smtp_server(keeper) as port:
        await helpdesk.ticket("ada@example.com")
        await helpdesk.drain(f"smtp://127.0.0.1:{port}?starttls=require")
    implicit, lacking = await helpdesk.runs()
    assert implicit["status"] == "succeeded" and len(keeper.received) == 1
    assert lacking["status"] == "failed"
    assert "does not offer STARTTLS, which PLINTH_SMTP_URL requires" in lacking["last_error"]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PLINTH_SMTP_URL", "smtp://bot:secret@mail.example.com:abc", "PLINTH_SMTP_URL="),
        ("PLINTH_SMTP_URL", "http://mail.example.com", "expected smtp://"),
        ("PLINTH_SMTP_URL", "smtp://mail.example.com?starttls=yes", "auto or require"),
        ("PLINTH_SMTP_URL", "smtp://mail.example.com?ca=/x.pem", "unknown option 'ca'"),
        ("PLINTH_SMTP_URL", "smtps://mail.example.com?cafile=/no/ca.pem", "'/no/ca.pem' is not"),
        ("PLINTH_EMAIL_FROM", "Helpdesk", "PLINTH_EMAIL_FROM: 'Helpdesk' is not an email"),
    ],
)
def test_a_malformed_smtp_setting_stops_start_up(name: str, value: str, message: str) -> None:
    env = {"PLINTH_SECRET_KEY": "x" * 40, "PLINTH_DATABASE_URL": "postgres://h/db", name: value}
    with pytest.raises(SettingsError) as refused:
        read_settings(env)
    assert message in str(refused.value)
    assert "secret" not in str(refused.value)  # a password is never printed


def test_the_settings_and_the_workers_read_the_same_smtp_variables(tmp_path: Path) -> None:
    cert, _ = self_signed(tmp_path)
    env = {
        "PLINTH_SECRET_KEY": "x" * 40,
        "PLINTH_DATABASE_URL": "postgres://h/db",
        "PLINTH_SMTP_URL": f"smtps://bot:pw@mail.example.com?cafile={cert}",
        "PLINTH_EMAIL_FROM": SENDER,
    }
    settings = read_settings(env)
    outbound = Outbound.from_environment((), env)
    assert (settings.smtp_url, settings.email_from) == (env["PLINTH_SMTP_URL"], SENDER)
    assert (outbound.smtp_url, outbound.email_from) == (settings.smtp_url, settings.email_from)
    unset = read_settings({k: v for k, v in env.items() if "SMTP" not in k and "EMAIL" not in k})
    assert (unset.smtp_url, unset.email_from) == (None, None)


def test_plinth_does_not_start_with_a_malformed_smtp_url(tmp_path: Path) -> None:
    env = plinth_env(
        f"sqlite:///{tmp_path / 'plinth.sqlite3'}",
        tmp_path,
        PLINTH_SMTP_URL="smtp://bot:secret@mail.example.com:25/inbox",
    )
    refused = plinth("migrate", env=env, cwd=tmp_path, check=False)
    assert refused.returncode != 0
    assert "PLINTH_SMTP_URL='smtp://bot:***@mail.example.com:25/inbox'" in refused.stderr
    assert "expected no path after the host" in refused.stderr
    assert "secret" not in refused.stderr
