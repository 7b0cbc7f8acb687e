"""Acceptance: the real piccolo-admin front-end in headless Chromium (Debian's, not a download).

A's user signs in at /admin, sees A's tickets only, edits one ticket's subject; the edit lands in
the timeline (actor, old and new subject) and in the outbox. B's ticket is reachable neither
from the list nor by its URL.

The front-end's addresses and selectors this relies on (piccolo-admin 1.14):
- login form at /admin/#/login/: input[name=username], input[name=password],
  button[data-uitest=login_button];
- sidebar link `.sidebar a[href="#/ticket/"]` → list at #/ticket/, one
  `a[href="#/ticket/<id>/"]` per row, `#result_count` ("Showing 2 of 2 result(s)");
- edit page at #/ticket/<id>/: input[name=subject], button[data-uitest=save_button], then the
  "Successfully saved row" message;
- a 404 from the API makes the front-end alert("Page not found") and go back to #/.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from playwright.sync_api import expect

from runtime.database import close_engine, engine_from_url, open_engine
from runtime.definitions import load_project
from runtime.schema import build_registry
from tests.admin_browser import AdminPage, chromium
from tests.conftest import DEFINITIONS, Site

pytestmark = pytest.mark.browser


@pytest.fixture
def admin(site: Site) -> Iterator[AdminPage]:
    """A fresh Chromium per test, started after `site` (see tests/admin_browser.py)."""
    with chromium() as browser:
        tab = AdminPage(browser, site)
        try:
            yield tab
        finally:
            tab.close()


def _tickets(site: Site) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Two tickets of A's, one of B's with a subject nobody else uses."""
    suffix = uuid.uuid4().hex[:6]
    with site.client(site.a) as client:
        mine = [
            client.post("/api/tickets", json={"subject": f"Acme printer {suffix}"}),
            client.post("/api/tickets", json={"subject": f"Acme coffee {suffix}"}),
        ]
    with site.client(site.b) as client:
        theirs = client.post("/api/tickets", json={"subject": f"GLOBEX-SECRET-{suffix}"})
    for response in (*mine, theirs):
        assert response.status_code == 201, response.text
    return [r.json() for r in mine], theirs.json()


def _database_rows(site: Site, record_id: str) -> tuple[list[dict], list[dict]]:
    """The timeline entries and outbox events of one record, read straight from the database."""

    async def read() -> tuple[list[dict], list[dict]]:
        engine = engine_from_url(site.env["PLINTH_DATABASE_URL"])
        registry = build_registry(load_project(DEFINITIONS), engine)
        await open_engine(engine)
        try:
            timeline, outbox = registry.timeline, registry.outbox
            rid = uuid.UUID(record_id)
            entries = await timeline.select().where(timeline.record_id == rid).run()
            events = await outbox.select().where(outbox.record_id == rid).run()
            return entries, events
        finally:
            await close_engine(engine)

    with ThreadPoolExecutor(max_workers=1) as pool:  # away from Playwright's loop
        return pool.submit(asyncio.run, read()).result(timeout=60)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def test_admin_lists_own_tickets_and_an_edit_lands_in_timeline_and_outbox(
    site: Site, admin: AdminPage
) -> None:
    mine, theirs = _tickets(site)
    target = mine[0]
    old_subject, new_subject = target["subject"], f"{target['subject']} (edited in the UI)"

    admin.sign_in(site.a)
    admin.open_ticket_list()
    page = admin.page

    # The list: A's two tickets, nothing of B's.
    admin.budget.step("list rows")
    for ticket in mine:
        page.wait_for_selector(f'a[href="#/ticket/{ticket["id"]}/"]')
    assert admin.row_ids() == {t["id"] for t in mine}
    assert page.text_content("#result_count").strip() == "Showing 2 of 2 result(s)"
    text = admin.visible_text()
    assert all(t["subject"] in text for t in mine)
    assert theirs["subject"] not in text and theirs["id"] not in text

    # The edit page of one of A's tickets.
    admin.budget.step("edit page")
    with page.expect_response(
        lambda r: f"/admin/api/tables/ticket/{target['id']}/" in r.url and r.request.method == "GET"
    ) as detail:
        page.click(f'a[href="#/ticket/{target["id"]}/"]')
    assert detail.value.status == 200, detail.value.text()
    page.wait_for_url(f"**/admin/#/ticket/{target['id']}/")
    subject = page.locator('input[name="subject"]')
    expect(subject).to_have_value(old_subject)

    # Change the subject and save; the UI reports success.
    admin.budget.step("save")
    subject.fill(new_subject)
    admin.save_ticket(target["id"])
    assert admin.dialogs == []

    # The REST API's timeline: the newest entry is A's edit of the subject.
    with site.client(site.a) as client:
        record = client.get(f"/api/tickets/{target['id']}").json()
        timeline = client.get(f"/api/tickets/{target['id']}/timeline").json()["data"]
    assert record["subject"] == new_subject
    assert record["version"] == target["version"] + 1
    assert [e["event"] for e in timeline] == ["updated", "created"]  # newest first
    newest = timeline[0]
    assert newest["event"] == "updated"
    assert newest["actor"] == site.a
    # The form sends every field; only the subject changed, so only it is in the entry.
    assert newest["changes"] == {"subject": {"old": old_subject, "new": new_subject}}

    # The database: the same timeline entry, and the outbox event for it.
    entries, events = _database_rows(site, target["id"])
    tenant = uuid.UUID(target["tenant_id"])
    updates = [e for e in entries if e["event"] == "updated"]
    assert len(updates) == 1
    assert updates[0]["actor"] == site.a
    assert updates[0]["tenant_id"] == tenant
    assert _json(updates[0]["changes"])["subject"] == {"old": old_subject, "new": new_subject}
    assert sorted(e["event"] for e in events) == ["created", "updated"]
    [event] = [e for e in events if e["event"] == "updated"]
    assert event["tenant_id"] == tenant
    assert event["entity"] == "Ticket"
    assert event["actor"] == site.a
    payload = _json(event["payload"])
    assert payload["record"]["subject"] == new_subject
    assert payload["record"]["id"] == target["id"]
    assert payload["old"]["subject"] == old_subject
    assert payload["changed"] == ["subject"]

    # Nothing the browser received mentioned B's ticket.
    for url, _status, body in admin.api_bodies():
        assert theirs["subject"] not in body and theirs["id"] not in body, url


def test_other_tenants_ticket_is_not_reachable_by_url(site: Site, admin: AdminPage) -> None:
    mine, theirs = _tickets(site)
    admin.sign_in(site.a)
    page = admin.page

    # Straight to the edit page of B's ticket, as if the URL had been shared.
    admin.budget.step("B's edit page")
    with page.expect_response(
        lambda r: f"/admin/api/tables/ticket/{theirs['id']}/" in r.url and r.request.method == "GET"
    ) as detail:
        page.goto(f"{site.url}/admin/#/ticket/{theirs['id']}/")
    assert detail.value.status == 404, detail.value.text()
    assert theirs["subject"] not in detail.value.text()

    # The front-end says so and goes home: no form, no record.
    page.wait_for_url("**/admin/#/")
    page.wait_for_selector(".welcome")
    assert admin.dialogs == ["Page not found"]
    assert page.locator('input[name="subject"]').count() == 0
    assert page.locator('button[data-uitest="save_button"]').count() == 0
    assert theirs["subject"] not in admin.visible_text()

    # Every request for B's ticket was refused, and no response carried its subject.
    bodies = admin.api_bodies()
    for url, status, body in bodies:
        assert theirs["subject"] not in body, url
        if theirs["id"] in url:
            assert status == 404, (url, status)
    assert any(theirs["id"] in url for url, _, _ in bodies)

    # The list still shows A's tickets and only A's.
    admin.open_ticket_list()
    admin.budget.step("list rows")
    for ticket in mine:
        page.wait_for_selector(f'a[href="#/ticket/{ticket["id"]}/"]')
    assert admin.row_ids() == {t["id"] for t in mine}
    assert theirs["subject"] not in admin.visible_text()

    # B's ticket is untouched.
    with site.client(site.b) as client:
        ticket = client.get(f"/api/tickets/{theirs['id']}").json()
    assert (ticket["subject"], ticket["version"]) == (theirs["subject"], theirs["version"])


def test_an_enum_field_is_chosen_from_its_choices(site: Site, admin: AdminPage) -> None:
    """Ticket.status (enum: new, open, closed) is a drop-down of its choices, and the choice
    saved lands through the service."""
    mine, _ = _tickets(site)
    target = mine[0]
    admin.sign_in(site.a)
    page = admin.page
    admin.budget.step("edit page")
    page.goto(f"{site.url}/admin/#/ticket/{target['id']}/")
    status = page.locator('select[name="status"]')
    expect(status).to_have_value("new")
    options = status.locator("option").evaluate_all("els => els.map(e => e.value)")
    assert options == ["null", "new", "open", "closed"]  # "null": the column is nullable

    admin.budget.step("save")
    status.select_option("closed")
    admin.save_ticket(target["id"])
    with site.client(site.a) as client:
        record = client.get(f"/api/tickets/{target['id']}").json()
        timeline = client.get(f"/api/tickets/{target['id']}/timeline").json()["data"]
    assert record["status"] == "closed"
    assert timeline[0]["changes"] == {"status": {"old": "new", "new": "closed"}}
