"""The admin's forms follow the caller's policy, saves are checked against the version the form
showed, and the picker search matches literally on readable fields only (issue 12, points 1,
2 and 6). Each request is the one piccolo-admin's Vue app sends: the edit form PATCHes every
property of the table's schema, as the inputs hold them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.admin_session import admin_client
from tests.conftest import (
    Site,
    add_tenants,
    module_database,
    prepare_site,
    start_server,
    stop,
)
from tests.identity.world import World, world_fixture

SAMPLES = Path(__file__).parent / "service" / "definitions"  # Sample: states and read_only


@pytest.fixture(scope="module")
def world(server: Site) -> Iterator[World]:
    yield from world_fixture(server)


def _form(admin: httpx.Client, table: str, row_id: str) -> dict[str, Any]:
    """What the edit form sends unchanged: the row's value of every schema property but the
    ones it shows disabled (a disabled input is not sent)."""
    schema = admin.get(f"/api/tables/{table}/schema/").json()
    row = admin.get(f"/api/tables/{table}/{row_id}/", params={"__readable": "true"}).json()
    return {
        name: row.get(name)
        for name, spec in schema["properties"].items()
        if not spec.get("extra", {}).get("plinth_read_only")
    }


def _form_fields(admin: httpx.Client) -> tuple[set[str], set[str]]:
    """(fields the form may send, fields it shows disabled) of the ticket schema; path
    columns of the list (`contact.email`) are in neither."""
    properties = admin.get("/api/tables/ticket/schema/").json()["properties"]
    fixed = {n for n, p in properties.items() if p.get("extra", {}).get("plinth_read_only")}
    return {n for n in properties if "." not in n} - fixed, fixed


def test_the_form_has_only_what_the_role_may_read_and_write(world: World) -> None:
    with closing(admin_client(world.site.url, world.users["agent"].email)) as admin:
        agent, agent_fixed = _form_fields(admin)
    with closing(admin_client(world.site.url, world.users["viewer"].email)) as admin:
        viewer, viewer_fixed = _form_fields(admin)
    assert agent == {"subject", "body", "priority", "contact", "due_at", "version"}
    assert agent_fixed == {"status"}  # readable, outside the agent's write set
    assert viewer == {"version"}  # reads subject, status, priority, contact; writes nothing
    assert viewer_fixed == {"subject", "status", "priority", "contact"}


def test_an_agent_saves_its_own_ticket_and_only_the_change_is_written(world: World) -> None:
    agent = world.client("agent", "jwt")
    ticket = agent.post("/api/tickets", json={"subject": "mine", "priority": 2}).json()
    with closing(admin_client(world.site.url, world.users["agent"].email)) as admin:
        form = _form(admin, "ticket", ticket["id"])
        assert form["version"] == 1 and "status" not in form and "internal_notes" not in form
        saved = admin.patch(f"/api/tables/ticket/{ticket['id']}/", json={**form, "priority": 4})
        assert saved.status_code == 200, saved.text
    after = agent.get(f"/api/tickets/{ticket['id']}").json()
    assert (after["priority"], after["subject"], after["version"]) == (4, "mine", 2)
    entry = agent.get(f"/api/tickets/{ticket['id']}/timeline").json()["data"][0]
    assert entry["actor"] == world.users["agent"].email
    assert entry["changes"] == {"priority": {"old": 2, "new": 4}}


def test_a_stale_form_is_refused_and_the_first_save_kept(world: World) -> None:
    owner = world.client("owner", "jwt")
    ticket = owner.post("/api/tickets", json={"subject": "shared"}).json()
    url = f"/api/tables/ticket/{ticket['id']}/"
    with (
        closing(admin_client(world.site.url, world.users["owner"].email)) as first,
        closing(admin_client(world.site.url, world.users["colleague"].email)) as second,
    ):
        form_1, form_2 = _form(first, "ticket", ticket["id"]), _form(second, "ticket", ticket["id"])
        assert first.patch(url, json={**form_1, "subject": "first"}).status_code == 200
        stale = second.patch(url, json={**form_2, "subject": "second"})
        assert stale.status_code == 409, stale.text
        assert stale.headers["content-type"].startswith("text/plain")  # the form shows it
        assert "changed by someone else" in stale.text and "version 2" in stale.text
        assert owner.get(f"/api/tickets/{ticket['id']}").json()["subject"] == "first"
        # the first form, not reloaded, saves again: its own save is no conflict
        again = first.patch(url, json={**form_1, "subject": "first", "body": "more"})
        assert again.status_code == 200, again.text
    after = owner.get(f"/api/tickets/{ticket['id']}").json()
    assert (after["subject"], after["body"], after["version"]) == ("first", "more", 3)


def test_a_stale_tab_of_the_same_browser_is_refused_too(world: World) -> None:
    """Two tabs share the browser's cookies: the one that saved goes on saving, the other one,
    still holding the old values, is refused and overwrites nothing."""
    owner = world.client("owner", "jwt")
    ticket = owner.post("/api/tickets", json={"subject": "tabs", "priority": 2}).json()
    url = f"/api/tables/ticket/{ticket['id']}/"
    with closing(admin_client(world.site.url, world.users["owner"].email)) as browser:
        tab_1, tab_2 = (
            _form(browser, "ticket", ticket["id"]),
            _form(browser, "ticket", ticket["id"]),
        )
        tab_1["subject"] = "tab one"
        assert browser.patch(url, json=tab_1).status_code == 200
        stale = browser.patch(url, json={**tab_2, "priority": 5})
        assert stale.status_code == 409, stale.text
        tab_1["body"] = "later"
        assert browser.patch(url, json=tab_1).status_code == 200  # the saving tab goes on
        tab_1["priority"] = 4
        assert browser.patch(url, json=tab_1).status_code == 200
        assert browser.patch(url, json={**tab_2, "body": "later"}).status_code == 409
    after = owner.get(f"/api/tickets/{ticket['id']}").json()
    assert (after["subject"], after["body"], after["priority"]) == ("tab one", "later", 4)
    assert after["version"] == 4


def test_the_picker_search_is_literal_and_on_readable_fields_only(world: World) -> None:
    owner = world.client("owner", "jwt")
    names = ["Pct 100% sure", "Pct 100x sure", "Und a_b", "Und axb"]
    ids = {}
    for n, name in enumerate(names):
        body = {"name": name, "email": f"picker{n}-probe@secret.test"}
        ids[name] = owner.post("/api/contacts", json=body).json()["id"]

    def search(role: str, term: str) -> set[str]:
        with closing(admin_client(world.site.url, world.users[role].email)) as admin:
            answer = admin.get("/api/tables/contact/ids/", params={"search": term})
            assert answer.status_code == 200, answer.text
            return set(answer.json())

    assert search("owner", "picker0-probe") == {ids["Pct 100% sure"]}
    assert search("viewer", "picker0-probe") == set()  # the viewer may not read emails
    assert search("viewer", "secret.test") == set()
    assert search("viewer", "100%") == {ids["Pct 100% sure"]}
    assert search("viewer", "a_b") == {ids["Und a_b"]}
    assert search("viewer", "%") == {ids["Pct 100% sure"]}


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A server on the definitions with a state machine and a read-only field (Sample)."""
    workdir = tmp_path_factory.mktemp("samples")
    for database_url in module_database("sqlite", workdir):
        env = prepare_site(database_url, workdir, PLINTH_DEFINITIONS=str(SAMPLES))
        url, process = start_server(env, workdir)
        try:
            yield add_tenants(database_url, Site(url=url, env=env, workdir=workdir))
        finally:
            stop(process)


def test_the_owner_adds_a_row_with_a_state_machine_and_a_read_only_field(samples: Site) -> None:
    with closing(admin_client(samples.url, samples.a)) as admin:
        shown = admin.get("/api/tables/sample/schema/").json()["properties"]
        assert "secret" not in shown  # hidden
        fixed = {n for n, p in shown.items() if p.get("extra", {}).get("plinth_read_only")}
        assert {"stage", "locked"} <= fixed  # shown disabled: the browser does not send them
        schema = {n: p for n, p in shown.items() if n not in fixed}
        form = {name: None for name in schema} | {"title": "made in the admin"}
        form |= admin.get("/api/tables/sample/new/").json() | {"title": "made in the admin"}
        form = {k: v for k, v in form.items() if k in schema}
        created = admin.post("/api/tables/sample/", json=form)
        assert created.status_code == 201, created.text
        row_id = created.json()[0]["id"]
        row = admin.get(f"/api/tables/sample/{row_id}/").json()
    assert (row["title"], row["stage"], row["locked"]) == ("made in the admin", "draft", None)
    assert "secret" not in row


def test_a_viewer_save_by_api_call_is_refused_with_the_reason(world: World) -> None:
    owner = world.client("owner", "jwt")
    ticket = owner.post("/api/tickets", json={"subject": "look, don't touch"}).json()
    with closing(admin_client(world.site.url, world.users["viewer"].email)) as admin:
        url = f"/api/tables/ticket/{ticket['id']}/"
        refused = admin.patch(url, json={"subject": "touched", "version": 1})
    assert refused.status_code == 403, refused.text
    assert refused.text == "your roles do not allow you to update this Ticket"
    assert owner.get(f"/api/tickets/{ticket['id']}").json()["subject"] == "look, don't touch"
