"""Derived names and defaults of the Model, from small definitions written in the test."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from runtime.definitions import Project, load_project, parse_duration, parse_size
from runtime.filters import And, Cond, Not


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / "definitions" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text), encoding="utf-8")
    return root / "definitions"


def load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str]) -> Project:
    monkeypatch.chdir(tmp_path)
    return load_project(write_tree(tmp_path, files).relative_to(tmp_path))


def test_entity_names_derive_label_plural_table_and_slug(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = load(tmp_path, monkeypatch, {
        "support_ticket.yaml": """\
            entity: SupportTicket
            fields: {subject: {type: string}}
        """,
        "person.yaml": """\
            entity: Person
            label: Person
            plural: People
            fields: {name: {type: string}}
        """,
        "log.yaml": """\
            entity: HTTPLog
            label: Request log
            fields: {path: {type: url}}
        """,
    })  # fmt: skip

    ticket = project.entities["SupportTicket"]
    assert (ticket.label, ticket.plural) == ("Support ticket", "Support tickets")
    assert (ticket.table, ticket.slug, ticket.module) == (
        "support_ticket",
        "support_tickets",
        "app",
    )
    person = project.entities["Person"]
    assert (person.plural, person.slug, person.table) == ("People", "people", "person")
    log = project.entities["HTTPLog"]
    # the slug follows the name, not the label, so relabelling never moves the API
    assert (log.label, log.plural, log.slug, log.table) == (
        "Request log", "Request logs", "http_logs", "http_log",
    )  # fmt: skip


def test_field_defaults_and_normalisation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = load(tmp_path, monkeypatch, {
        "ticket.yaml": """\
            entity: Ticket
            tenant_scoped: false
            timeline: false
            fields:
              title: {type: string}
              due_at: {type: datetime, default: $now, help: When it is due}
              level: {type: enum, choices: {low: Low priority, high: High priority}, default: low}
              owner: {type: reference, to: User, default: $user}
              amount: {type: decimal, digits: 10, places: 2, min: 0}
              attachment: {type: file, accept: [application/pdf, image/*], max_size: 10MB}
              flag: {type: boolean, default: false, hidden: true, read_only: true}
              "on": {type: boolean}
              summary: {type: text, renamed_from: abstract}
            indexes:
              - {fields: [title, owner], unique: true}
        """,
    })  # fmt: skip

    ticket = project.entities["Ticket"]
    assert (ticket.tenant_scoped, ticket.timeline) == (False, False)
    title = ticket.field("title")
    assert title is not None and title.max_length == 255
    due_at = ticket.field("due_at")
    assert due_at is not None
    assert (due_at.label, due_at.default, due_at.help) == ("Due at", "$now", "When it is due")
    level = ticket.field("level")
    assert level is not None
    assert level.choices == (("low", "Low priority"), ("high", "High priority"))
    owner = ticket.field("owner")
    assert owner is not None and (owner.to, owner.on_delete, owner.default) == (
        "User",
        "restrict",
        "$user",
    )
    amount = ticket.field("amount")
    assert amount is not None and (amount.digits, amount.places, amount.min) == (10, 2, 0)
    attachment = ticket.field("attachment")
    assert attachment is not None
    assert (attachment.accept, attachment.max_size) == (
        ("application/pdf", "image/*"),
        10 * 1024**2,
    )
    flag = ticket.field("flag")
    assert flag is not None
    assert (flag.has_default, flag.default, flag.hidden, flag.read_only) == (
        True,
        False,
        True,
        True,
    )
    assert ticket.field("on") is not None  # YAML 1.2: `on` is a name, not the boolean true
    summary = ticket.field("summary")
    assert summary is not None and summary.renamed_from == "abstract"
    assert title.renamed_from is None
    assert [(i.fields, i.unique) for i in ticket.indexes] == [(("title", "owner"), True)]


def test_states_roles_and_workflows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = load(tmp_path, monkeypatch, {
        "entities/ticket.yaml": """\
            entity: Ticket
            fields:
              subject: {type: string}
              body: {type: text}
              status: {type: enum, choices: [new, open, closed], default: new}
              priority: {type: integer}
              closed_at: {type: datetime, read_only: true}
            states:
              field: status
              initial: new
              transitions:
                start: {from: new, to: open}
                close: {from: [new, open], to: closed, label: Close now}
        """,
        "roles/viewer.yaml": """\
            role: viewer
            permissions:
              Ticket: {read: {status: {ne: closed}}, fields: {read: [subject, status]}}
        """,
        "roles/support_agent.yaml": """\
            role: support_agent
            inherits: [viewer]
            permissions:
              Ticket:
                read: true
                update: {and: [{priority: {gte: 3}}, {not: {status: closed}}]}
                fields: {read: "*", write: [body, priority]}
                transitions: [start, close]
        """,
        "workflows/close.yaml": """\
            workflow: close_ticket
            on: {event: transition, entity: Ticket, transition: close}
            when: {priority: {gte: 4}}
            do:
              - update: {closed_at: $now}
              - http:
                  method: POST
                  url: "https://hooks.example.com/t"
                  json: {id: $record.id}
                  timeout: 10s
              - email: {to: "{{ record.subject }}", subject: Ticket closed, body: Closed.}
            retry: {attempts: 5, backoff: exponential, initial: 2s, max: 10m}
        """,
        "workflows/escalate.yaml": """\
            workflow: escalate
            on: {event: manual, entity: Ticket, label: Escalate}
            do:
              - update: {priority: 5}
        """,
        "workflows/digest.yml": """\
            workflow: digest
            on: {event: schedule, cron: "0 8 * * 1-5"}
            do:
              - email: {to: [ops@example.com], subject: Daily digest, body: See the queue.}
        """,
    })  # fmt: skip

    states = project.entities["Ticket"].states
    assert states is not None
    assert (states.field, states.initial) == ("status", "new")
    assert [(t.name, t.sources, t.target, t.label) for t in states.transitions] == [
        ("start", ("new",), "open", "Start"),
        ("close", ("new", "open"), "closed", "Close now"),
    ]
    agent = project.roles["support_agent"]
    assert (agent.label, agent.inherits) == ("Support agent", ("viewer",))
    permission = agent.permissions["Ticket"]
    assert permission.read is True
    assert permission.update == And(
        (Cond("priority", "gte", 3), Not(Cond("status", "eq", "closed")))
    )
    assert (permission.create, permission.delete) == (False, False)
    assert (permission.read_fields, permission.write_fields) == (None, ("body", "priority"))
    assert permission.transitions == ("start", "close")
    viewer = project.roles["viewer"].permissions["Ticket"]
    assert (viewer.read_fields, viewer.write_fields) == (("subject", "status"), None)

    close = project.workflows["close_ticket"]
    assert (close.on.event, close.on.entity, close.on.transition) == (
        "transition",
        "Ticket",
        "close",
    )
    assert [a.kind for a in close.actions] == ["update", "http", "email"]
    # `when` is parsed once, here; each condition knows where the file wrote it
    assert close.when == Cond("priority", "gte", 4)
    assert isinstance(close.when, Cond) and close.when.at == ("when", "priority", "gte")
    assert close.actions[1].args["timeout"] == "10s"
    assert (close.retry.attempts, close.retry.backoff) == (5, "exponential")
    assert (close.retry.initial_seconds, close.retry.max_seconds) == (2.0, 600.0)
    escalate = project.workflows["escalate"]
    assert (escalate.on.event, escalate.on.label, escalate.label) == (
        "manual",
        "Escalate",
        "Escalate",
    )
    digest = project.workflows["digest"]
    assert (digest.on.event, digest.on.cron, digest.on.entity) == ("schedule", "0 8 * * 1-5", None)


def test_platform_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = load(tmp_path, monkeypatch, {
        "platform.yaml": """\
            name: Acme Helpdesk
            timezone: Europe/Berlin
            auth:
              session_ttl: 8h
              access_token_ttl: 15m
              oidc: {issuer: "https://id.example.com", audience: plinth}
            http: {allow_hosts: [hooks.internal]}
        """,
    })  # fmt: skip

    platform = project.platform
    assert (platform.name, platform.timezone) == ("Acme Helpdesk", "Europe/Berlin")
    assert (platform.session_ttl_seconds, platform.access_token_ttl_seconds) == (28800, 900)
    assert platform.oidc == {"issuer": "https://id.example.com", "audience": "plinth"}
    assert platform.http_allow_hosts == ("hooks.internal",)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("2s", 2.0), ("10m", 600.0), ("8h", 28800.0), ("1d", 86400.0), ("500ms", 0.5), (30, 30.0)],
)
def test_durations_parse_to_seconds(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_sizes_parse_to_bytes() -> None:
    assert [parse_size(s) for s in ("500KB", "10MB", "1GB", "12B", 99)] == [
        500 * 1024, 10 * 1024**2, 1024**3, 12, 99,
    ]  # fmt: skip
    with pytest.raises(ValueError, match="not a size: '10 MiB'"):
        parse_size("10 MiB")


@pytest.mark.parametrize(
    ("name", "plural", "slug"),
    [
        ("Company", "Companies", "companies"),  # not /api/companys (issue 16)
        ("Category", "Categories", "categories"),
        ("Address", "Addresses", "addresses"),
        ("Box", "Boxes", "boxes"),
        ("Key", "Keys", "keys"),
    ],
)
def test_plurals_follow_english_spelling(
    name: str, plural: str, slug: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {"entity.yaml": f"entity: {name}\nfields: {{name: {{type: string}}}}\n"}
    entity = load(tmp_path, monkeypatch, files).entities[name]
    assert (entity.plural, entity.slug) == (plural, slug)
