"""Acceptance in headless Chromium: two admins open the same ticket; the first saves; the
second's save shows the conflict message in the form and the database keeps the first's value
(issue 12, point 2)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.admin_browser import AdminPage, chromium
from tests.conftest import Site

pytestmark = pytest.mark.browser


@pytest.fixture
def browser(site: Site) -> Iterator[Any]:
    """One Chromium, started after `site` (see tests/admin_browser.py)."""
    with chromium() as browser:
        yield browser


def _open_edit_page(tab: AdminPage, ticket_id: str) -> None:
    page = tab.page
    tab.budget.step("edit page")
    with page.expect_response(
        lambda r: f"/admin/api/tables/ticket/{ticket_id}/" in r.url and r.request.method == "GET"
    ):
        page.goto(f"{tab.site.url}/admin/#/ticket/{ticket_id}/")
    expect(page.locator('input[name="subject"]')).to_have_value("shared")


def test_a_stale_edit_shows_the_conflict_and_keeps_the_first_save(site: Site, browser: Any) -> None:
    with site.client(site.a) as client:
        ticket = client.post("/api/tickets", json={"subject": "shared"}).json()
    first, second = AdminPage(browser, site), AdminPage(browser, site)  # two contexts
    try:
        for tab in (first, second):
            tab.sign_in(site.a)
            _open_edit_page(tab, ticket["id"])

        first.page.locator('input[name="subject"]').fill("first wins")
        first.save_ticket(ticket["id"])

        page = second.page
        second.budget.step("stale save")
        page.locator('input[name="subject"]').fill("second loses")
        with page.expect_response(
            lambda r: (
                f"/admin/api/tables/ticket/{ticket['id']}/" in r.url and r.request.method == "PATCH"
            )
        ) as saved:
            page.click('button[data-uitest="save_button"]')
        assert saved.value.status == 409, saved.value.text()
        page.get_by_text("was changed by someone else").wait_for()
        page.get_by_text("The form has errors.").wait_for()
    finally:
        first.close()
        second.close()

    with site.client(site.a) as client:
        record = client.get(f"/api/tickets/{ticket['id']}").json()
    assert (record["subject"], record["version"]) == ("first wins", 2)
