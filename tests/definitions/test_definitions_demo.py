"""The demo definitions load into the expected Model."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.definitions import Loc, Project, check_project, load_project
from runtime.filters import Cond, Var

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(monkeypatch: pytest.MonkeyPatch) -> Project:
    monkeypatch.chdir(REPO)
    return load_project("definitions")


def test_demo_definitions_have_no_problems(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    project, problems = check_project("definitions")
    assert problems == []
    assert project is not None


def test_demo_has_the_expected_definitions(project: Project) -> None:
    assert list(project.entities) == ["Contact", "Ticket"]
    assert sorted(project.roles) == ["agent", "requester", "viewer"]
    assert list(project.workflows) == ["triage"]


def test_ticket_entity_derivations(project: Project) -> None:
    ticket = project.entities["Ticket"]
    assert ticket.loc == Loc("definitions/entities/ticket.yaml", 1, 9)
    assert (ticket.module, ticket.label, ticket.plural) == ("helpdesk", "Ticket", "Tickets")
    assert (ticket.slug, ticket.table) == ("tickets", "ticket")
    assert ticket.display == "{{ subject }}"
    assert ticket.tenant_scoped is True
    assert ticket.timeline is True
    assert [f.name for f in ticket.fields] == [
        "subject", "body", "status", "priority", "contact", "due_at", "internal_notes",
    ]  # fmt: skip
    assert project.entity_by_slug("tickets") is ticket


def test_ticket_fields(project: Project) -> None:
    ticket = project.entities["Ticket"]
    subject = ticket.field("subject")
    assert subject is not None
    assert (subject.type, subject.max_length, subject.required) == ("string", 200, True)
    assert subject.label == "Subject"
    assert subject.loc == Loc("definitions/entities/ticket.yaml", 5, 3)

    status = ticket.field("status")
    assert status is not None
    assert status.choices == (("new", "new"), ("open", "open"), ("closed", "closed"))
    assert status.choice_values == ("new", "open", "closed")
    assert (status.has_default, status.default) == (True, "new")

    priority = ticket.field("priority")
    assert priority is not None
    assert (priority.type, priority.min, priority.max, priority.default) == ("integer", 1, 5, 3)

    contact = ticket.field("contact")
    assert contact is not None
    assert (contact.type, contact.to, contact.on_delete) == ("reference", "Contact", "set_null")
    assert contact.required is False

    due_at = ticket.field("due_at")
    assert due_at is not None
    assert (due_at.type, due_at.label, due_at.has_default) == ("datetime", "Due by", False)

    body = ticket.field("body")
    assert body is not None
    assert body.max_length is None  # the 255 default is for strings only

    internal = ticket.field("internal_notes")
    assert internal is not None and internal.hidden


def test_ticket_admin_options(project: Project) -> None:
    admin = project.entities["Ticket"].admin
    assert admin.list == ("subject", "status", "priority", "contact", "contact.email", "due_at")
    assert admin.filters == ("status", "priority")
    assert admin.search == ("subject", "body")
    assert admin.order == "-created_at"
    assert project.entities["Contact"].admin.order == "name"


def test_agent_role(project: Project) -> None:
    agent = project.roles["agent"]
    assert agent.label == "Support agent"
    assert agent.inherits == ("viewer",)
    ticket = agent.permissions["Ticket"]
    assert (ticket.read, ticket.create, ticket.delete) == (True, True, False)
    # a row rule (own tickets), parsed when the definitions load
    assert ticket.update == Cond("created_by", "eq", Var("$user.id"))
    assert ticket.read_fields is None
    assert ticket.write_fields == ("subject", "body", "priority", "contact", "due_at")
    assert ticket.transitions == ()
    contact = agent.permissions["Contact"]
    assert (contact.read, contact.create, contact.update, contact.delete) == (
        True, True, True, False,
    )  # fmt: skip


def test_viewer_and_requester_roles(project: Project) -> None:
    viewer = project.roles["viewer"].permissions
    assert viewer["Ticket"].read is True and viewer["Ticket"].update is False
    assert viewer["Ticket"].read_fields == ("subject", "status", "priority", "contact")
    assert viewer["Contact"].read_fields == ("name",)
    requester = project.roles["requester"].permissions
    assert requester["Ticket"].read == Cond("created_by", "eq", Var("$user.id"))
    assert requester["Ticket"].write_fields == ("subject", "body")
    assert "Contact" not in requester


def test_triage_workflow(project: Project) -> None:
    triage = project.workflows["triage"]
    assert triage.loc == Loc("definitions/workflows/triage.yaml", 1, 11)
    assert (triage.on.event, triage.on.entity) == ("created", "Ticket")
    assert triage.when == Cond("priority", "gte", 4)
    assert [(a.kind, a.args) for a in triage.actions] == [("update", {"status": "open"})]
    assert triage.actions[0].loc == Loc("definitions/workflows/triage.yaml", 5, 5)
    assert (triage.retry.attempts, triage.retry.initial_seconds) == (1, 2.0)


def test_platform_defaults_without_platform_yaml(project: Project) -> None:
    assert project.platform.name == "Plinth"
    assert project.platform.session_ttl_seconds == 8 * 3600


def test_locations_are_absolute_outside_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    project = load_project(REPO / "definitions")
    file = project.entities["Ticket"].loc.file
    assert file == (REPO / "definitions" / "entities" / "ticket.yaml").as_posix()
