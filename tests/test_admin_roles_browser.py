"""Acceptance in headless Chromium: the admin follows the role (owner, agent, viewer of the
repository's definitions) and the definitions (labels, help, required marks, `display`).

Each role signs in and sees only the tables it may read; the viewer has no Add / Save / Delete
buttons; a refused save shows its reason in the form; references show their `display` (the
contact's name), never a UUID, "undefined" or "NULL". Screenshots of the ticket list, the edit
form and the members page of each role land in artifacts/screenshots/<role>-<page>.png (CI keeps
them; docs/guides/admin.md shows a set copied to docs/guides/img/).

The front-end's selectors this relies on (piccolo-admin 1.14), besides those of
tests/test_admin_browser.py: the list's `.title_bar a.button[href$="/add/"]` ("Add Row"),
`th` headers from the schema's titles; the edit form's `label` (title, then `span` "*" when
required, then `.tooltip` whose `.popup` holds the help text); `[data-uitest=delete_row_button]`
in the edit page's menu (`[data-uitest=drop_down_button]`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from runtime.identity import accounts
from runtime.schema.registry import Registry
from tests.admin_browser import AdminPage, chromium
from tests.admin_session import admin_client, on_database
from tests.conftest import PASSWORD, REPO, Site

pytestmark = pytest.mark.browser

SCREENSHOTS = REPO / "artifacts" / "screenshots"
ROLES = ("owner", "agent", "viewer")


class People:
    """A's organization with one user per role, an owner's ticket (with a contact) and an
    agent's ticket."""

    def __init__(self, site: Site) -> None:
        self.site = site
        suffix = uuid.uuid4().hex[:6]
        self.emails = {
            "owner": site.a,
            "agent": f"agent-{suffix}@acme.test",
            "viewer": f"viewer-{suffix}@acme.test",
            "requester": f"requester-{suffix}@acme.test",
        }

        async def add(registry: Registry) -> None:
            for role, email in self.emails.items():
                if role != "owner":
                    await accounts.create_user(registry, email, PASSWORD)
                    await accounts.grant_role(registry, email, site.orgs[site.a], role)

        on_database(site, add)
        with site.client(site.a) as client:
            self.contact = client.post(
                "/api/contacts",
                json={"name": f"Carla {suffix}", "email": f"carla-{suffix}@acme.test"},
            ).json()
            self.ticket = client.post(
                "/api/tickets",
                json={"subject": f"Printer jam {suffix}", "contact": self.contact["id"]},
            ).json()
        with site.client(self.emails["agent"]) as client:
            self.agents = client.post(
                "/api/tickets", json={"subject": f"Agent's own {suffix}"}
            ).json()


@pytest.fixture
def people(site: Site) -> People:
    return People(site)


@pytest.fixture
def browser(people: People) -> Iterator[Any]:
    """Chromium, started after the users exist (see tests/admin_browser.py)."""
    with chromium() as browser:
        yield browser


def screenshot(tab: AdminPage, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    tab.page.screenshot(path=str(path), full_page=True)
    return path


def sidebar_tables(tab: AdminPage) -> set[str]:
    hrefs = tab.page.locator(".sidebar a[href^='#/']").evaluate_all(
        "els => els.map(e => e.getAttribute('href'))"
    )
    return {h.strip("#/") for h in hrefs if h.count("/") == 2}


def check_ticket_list(tab: AdminPage, people: People, role: str) -> None:
    page = tab.page
    tab.open_ticket_list()
    tab.budget.step("list rows")
    row = page.locator("tbody tr", has_text=people.ticket["subject"])
    row.wait_for()
    # The reference shows the contact's display (its name), linked; never its UUID.
    contact = row.locator(f'a[href="#/contact/{people.contact["id"]}/"]')
    assert contact.inner_text().strip() == people.contact["name"]
    # The row links to its edit page by its display field, the subject.
    link = row.locator(f'a[href="#/ticket/{people.ticket["id"]}/"]')
    assert link.first.inner_text().strip() == people.ticket["subject"]
    shown = page.locator(".table_wrapper").inner_text()
    assert people.contact["id"] not in shown and people.ticket["id"] not in shown
    assert "undefined" not in shown and "NULL" not in shown
    headers = [h.strip() for h in page.locator(".table_wrapper th").all_text_contents()]
    add_row = page.locator('.title_bar a.button[href$="/add/"]')
    if role == "viewer":
        assert "Due by" not in headers  # due_at is outside the viewer's read set
        expect(add_row).to_be_hidden()
        assert "plinth-no-create" in (page.get_attribute("body", "class") or "")
    else:
        assert "Due by" in headers
        expect(add_row).to_be_visible()
    screenshot(tab, f"{role}-ticket-list")


def open_edit_form(tab: AdminPage, ticket_id: str) -> None:
    tab.budget.step("edit form")
    tab.page.goto(f"{tab.site.url}/admin/#/ticket/{ticket_id}/")
    tab.page.locator('input[name="subject"]').wait_for()


def check_edit_form(tab: AdminPage, people: People, role: str) -> None:
    page = tab.page
    open_edit_form(tab, people.ticket["id"])
    subject = page.locator("label", has_text="Subject")
    assert subject.locator("span", has_text="*").count() == 1  # required
    help_text = subject.locator(".tooltip .popup").text_content() or ""
    assert help_text.strip() == "One line: what the customer needs"
    save = page.locator('button[data-uitest="save_button"]')
    page.click('[data-uitest="drop_down_button"]')
    delete = page.locator('[data-uitest="delete_row_button"]')
    if role == "viewer":
        expect(page.locator('input[name="subject"]')).to_be_disabled()  # read-only form
        expect(save).to_be_hidden()
        expect(delete).to_be_hidden()
    else:
        expect(page.locator('input[name="subject"]')).to_be_enabled()
        expect(save).to_be_visible()
        if role == "owner":
            expect(delete).to_be_visible()
        else:
            expect(delete).to_be_hidden()  # agents may not delete tickets
    page.click('[data-uitest="drop_down_button"]')
    if role != "viewer":
        due = page.locator("label", has_text="Due by")
        due.locator(".tooltip a").click()
        assert due.locator(".popup").inner_text().strip() == "When the customer expects an answer"
    screenshot(tab, f"{role}-edit-form")


def check_members_page(tab: AdminPage, role: str) -> None:
    tab.budget.step("members page")
    tab.page.goto(f"{tab.site.url}/admin/members/")
    if role == "owner":
        tab.page.locator('form[data-uitest="add_member"]').wait_for()
    else:
        tab.page.get_by_text("only an organization's owners manage its members").wait_for()
    screenshot(tab, f"{role}-members")


def test_each_role_sees_the_admin_its_role_allows(site: Site, people: People, browser: Any) -> None:
    for role in ROLES:
        tab = AdminPage(browser, site)
        try:
            tab.sign_in(people.emails[role])
            assert sidebar_tables(tab) == {"contact", "ticket"}
            check_ticket_list(tab, people, role)
            check_edit_form(tab, people, role)
            check_members_page(tab, role)
            assert tab.dialogs == []
        finally:
            tab.close()


def test_a_refused_save_shows_the_reason_in_the_form(
    site: Site, people: People, browser: Any
) -> None:
    """The agent may update only its own tickets: on the owner's, Save answers why not."""
    tab = AdminPage(browser, site)
    try:
        tab.sign_in(people.emails["agent"])
        page = tab.page
        open_edit_form(tab, people.ticket["id"])
        page.locator('input[name="subject"]').fill("the agent's edit")
        with page.expect_response(
            lambda r: (
                f"/admin/api/tables/ticket/{people.ticket['id']}/" in r.url
                and r.request.method in ("PATCH", "PUT")
            )
        ) as sent:
            page.click('button[data-uitest="save_button"]')
        assert sent.value.status == 403, sent.value.text()
        reason = sent.value.text()
        assert reason and "update" in reason
        page.get_by_text("The form has errors.").wait_for()
        assert reason in tab.visible_text()
        screenshot(tab, "agent-refused-save")
    finally:
        tab.close()
    with site.client(site.a) as client:
        kept = client.get(f"/api/tickets/{people.ticket['id']}").json()
    assert kept["subject"] == people.ticket["subject"]


def test_the_viewers_save_by_api_call_is_refused_with_the_reason(people: People) -> None:
    site = people.site
    viewer = admin_client(site.url, people.emails["viewer"])
    url = f"/api/tables/ticket/{people.ticket['id']}/"
    for method in ("PATCH", "PUT"):
        response = viewer.request(method, url, json={"subject": "the viewer's edit"})
        assert response.status_code == 403, response.text
        assert "update" in response.text
    created = viewer.post("/api/tables/ticket/", json={"subject": "the viewer's ticket"})
    assert created.status_code == 403 and "create" in created.text, created.text
    deleted = viewer.delete(url)
    assert deleted.status_code == 403 and "delete" in deleted.text, deleted.text
    with site.client(site.a) as client:
        kept = client.get(f"/api/tickets/{people.ticket['id']}").json()
    assert (kept["subject"], kept["version"]) == (people.ticket["subject"], 1)


def test_the_sidebar_and_the_buttons_follow_the_role(people: People) -> None:
    """What the page's script and the sidebar read: the tables the role may read, and whether
    it may create, update and delete on each (a row rule counts as may)."""
    site = people.site
    expected = {
        "owner": {"ticket": (True, True, True), "contact": (True, True, True)},
        "agent": {"ticket": (True, True, False), "contact": (True, True, False)},
        "viewer": {"ticket": (False, False, False), "contact": (False, False, False)},
        "requester": {"ticket": (True, True, True)},
    }
    for role, tables in expected.items():
        client = admin_client(site.url, people.emails[role])
        assert client.get("/api/tables/").json() == sorted(tables)
        grouped = client.get("/api/tables/grouped/").json()
        assert grouped == {"grouped": {"Helpdesk": sorted(tables)}, "ungrouped": []}
        verbs = client.get("/api/plinth/permissions/").json()
        for table, (create, update, delete) in tables.items():
            assert verbs[table] == {"create": create, "update": update, "delete": delete}, role
    anonymous = admin_client(site.url, site.a)
    anonymous.cookies.delete("id")
    assert anonymous.get("/api/tables/").json() == []
    assert anonymous.get("/api/plinth/permissions/").json() == {}


def test_a_viewers_schema_lists_only_what_it_reads_with_labels_and_help(people: People) -> None:
    site = people.site
    owner = admin_client(site.url, site.a).get("/api/tables/ticket/schema/").json()
    viewer = admin_client(site.url, people.emails["viewer"]).get("/api/tables/ticket/schema/")
    schema = viewer.json()
    assert schema["extra"]["visible_column_names"] == ["subject", "status", "priority", "contact"]
    assert owner["extra"]["visible_column_names"][-1] == "due_at"
    assert owner["extra"]["link_column_name"] == "subject"
    assert owner["properties"]["due_at"]["title"] == "Due by"
    assert owner["properties"]["due_at"]["extra"]["help_text"].startswith("When the customer")
    assert owner["required"] == ["subject"]
    assert "internal_notes" not in viewer.text and "internal_notes" not in str(owner)
    assert "Written by integrations" not in viewer.text + str(owner)


def test_a_path_in_admin_list_is_a_column_for_those_who_read_it(people: People) -> None:
    """Ticket's `admin.list` names `contact.email`: the owner's rows carry it, placed where the
    definitions put it; a viewer (who may not read contacts' emails) gets neither."""
    site = people.site
    for role, sees in (("owner", True), ("viewer", False)):
        client = admin_client(site.url, people.emails[role])
        visible = client.get("/api/tables/ticket/schema/").json()["extra"]["visible_column_names"]
        rows = client.get("/api/tables/ticket/", params={"__readable": "true"}).json()["rows"]
        [row] = [r for r in rows if r["id"] == people.ticket["id"]]
        if sees:
            assert visible[visible.index("contact") + 1] == "contact.email"
            assert row["contact.email"] == people.contact["email"]
        else:
            assert "contact.email" not in visible and "contact.email" not in row
            assert people.contact["email"] not in str(rows)
