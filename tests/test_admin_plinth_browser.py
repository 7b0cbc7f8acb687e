"""Acceptance in headless Chromium: Plinth's own admin pages (admin/record_page.py,
runs_page.py, home_page.py) on a project with a state machine and workflows
(tests/plinth_admin_site.py), one server and one browser for the module.

- an agent's edit of a subject shows on the record's history page (the agent, old → new),
  next to a workflow's update (`workflow:tag_new`); another organization's agent reaches
  none of it, by link or by URL;
- a ticket in `new` has a `start` button and no `close`; `start` moves it to `open` and the
  history shows the transition; a role without `start` has no button; a stale page gets the
  conflict message;
- a manual workflow's button starts it and the page shows the run succeeded and its effect;
- an http target that always answers 500 makes a dead run, shown on the runs page with its
  error; once the target answers 200, Retry makes it succeed;
- the overview's counts are the API's `count=true` for each role.

Screenshots land in tmp/artifacts/screenshots/admin-*.png; docs/guides/img/ holds copies made
by hand (see docs/guides/admin.md), so a run does not rewrite them.
"""

from __future__ import annotations

import contextlib
import html
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.admin_browser import AdminPage, chromium
from tests.admin_session import admin_client
from tests.conftest import REPO
from tests.plinth_admin_site import PlinthSite, serve

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

SCREENSHOTS = REPO / "tmp" / "artifacts" / "screenshots"


@pytest.fixture(scope="module")
def plinth_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlinthSite]:
    yield from serve(tmp_path_factory.mktemp("plinth-admin"))


@pytest.fixture(scope="module")
def browser(plinth_site: PlinthSite) -> Iterator[Any]:
    """One Chromium for the module, started after the site (see tests/admin_browser.py)."""
    with chromium() as browser:
        yield browser


class Tab(AdminPage):
    """A signed-in tab on the admin, with the addresses of Plinth's pages."""

    def record(self, ticket_id: str) -> str:
        return f"{self.site.url}/admin/plinth/records/ticket/{ticket_id}/"

    def open_record(self, ticket_id: str) -> None:
        self.page.goto(self.record(ticket_id))
        self.page.locator("[data-uitest=timeline]").wait_for()

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"admin-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def history(self) -> list[dict[str, Any]]:
        """The history table's rows: actor, what, and {field: (old, new)}."""
        rows: list[dict[str, Any]] = self.page.locator(
            "[data-uitest=timeline] tbody tr"
        ).evaluate_all(
            """rows => rows.filter(r => r.querySelector('.actor')).map(r => ({
                actor: r.querySelector('.actor').textContent.trim(),
                what: r.children[2].textContent.trim(),
                changes: Object.fromEntries(Array.from(r.querySelectorAll('.change')).map(c =>
                    [c.dataset.field, [c.querySelector('.old').textContent.trim(),
                                       c.querySelector('.new').textContent.trim()]]))
            }))"""
        )
        return rows


def tab_for(browser: Any, site: PlinthSite, who: str) -> Iterator[Tab]:
    tab = Tab(browser, site)  # type: ignore[arg-type]
    try:
        tab.sign_in(site.users[who])
        yield tab
    finally:
        tab.close()


@pytest.fixture
def agent(browser: Any, plinth_site: PlinthSite) -> Iterator[Tab]:
    yield from tab_for(browser, plinth_site, "agent")


@pytest.fixture
def owner(browser: Any, plinth_site: PlinthSite) -> Iterator[Tab]:
    yield from tab_for(browser, plinth_site, "owner")


def test_history_shows_the_agents_edit_and_the_workflows(
    plinth_site: PlinthSite, agent: Tab, browser: Any
) -> None:
    ticket = plinth_site.ticket("agent", subject="tag me")
    plinth_site.wait_for_actor(ticket["id"], "workflow:tag_new")
    page = agent.page
    page.goto(f"{plinth_site.url}/admin/#/ticket/{ticket['id']}/")
    page.fill('input[name="subject"]', "Printer on fire")
    agent.save_ticket(ticket["id"])
    # piccolo-admin's edit page links to the record's page
    expect(page.locator("#plinth-pill")).to_have_text("History, actions & runs")
    agent.screenshot("edit-page-link")
    page.click("#plinth-pill")
    page.wait_for_url(re.compile(r".*/plinth/records/ticket/"))
    history = agent.history()
    assert history[0]["actor"] == plinth_site.users["agent"]
    assert history[0]["changes"] == {"subject": ["tag me", "Printer on fire"]}
    by_workflow = [h for h in history if h["actor"] == "workflow:tag_new"]
    assert by_workflow and by_workflow[0]["changes"] == {"priority": ["3", "4"]}
    assert "tagged-secret" not in page.content()  # a hidden field, as the API leaves it out
    api_entry = next(
        e for e in plinth_site.timeline("agent", ticket["id"]) if e["actor"] == "workflow:tag_new"
    )
    assert api_entry["changes"] == {"priority": {"old": 3, "new": 4}}
    assert history[-1]["what"] == "created"
    agent.screenshot("record-history")

    # Another organization's agent: the page, by its URL, is not found and names nothing.
    for other in tab_for(browser, plinth_site, "agent_b"):
        response = other.page.goto(agent.record(ticket["id"]))
        assert response is not None and response.status == 404
        shown = other.page.content()
        assert "Printer on fire" not in shown and "tag me" not in shown
        for path in ("/admin/plinth/", "/admin/plinth/runs/"):
            other.page.goto(f"{plinth_site.url}{path}")
            assert "Printer on fire" not in other.page.content()
            assert ticket["id"] not in other.page.content()


def test_transitions_are_buttons(plinth_site: PlinthSite, agent: Tab, browser: Any) -> None:
    ticket = plinth_site.ticket("agent", subject="Broken chair")
    agent.open_record(ticket["id"])
    page = agent.page
    expect(page.locator("[data-transition=start]")).to_be_visible()
    expect(page.locator("[data-transition=close]")).to_have_count(0)
    agent.screenshot("record-buttons")
    page.click("[data-transition=start]")
    page.get_by_role("status").wait_for()
    assert page.get_by_role("status").inner_text() == "Done: Start (now open)"
    assert page.locator("[data-uitest=state]").inner_text() == "open"
    first = agent.history()[0]
    assert first["what"] == "transition: start"
    assert first["changes"] == {"status": ["new", "open"]}
    expect(page.locator("[data-transition=close]")).to_be_visible()
    expect(page.locator("[data-transition=start]")).to_have_count(0)

    # A stale page: someone else changed the ticket since it was shown.
    other = plinth_site.ticket("agent", subject="Stale one")
    agent.open_record(other["id"])
    with plinth_site.client("owner") as client:
        moved = client.patch(f"/api/tickets/{other['id']}", json={"subject": "Changed meanwhile"})
        assert moved.status_code == 200, moved.text
    page.click("[data-transition=start]")
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "out of date" in alert.inner_text()
    assert plinth_site.timeline("owner", other["id"])[0]["event"] == "updated"  # not moved

    # A role without `start` (nor any action) sees no button.
    for reader in tab_for(browser, plinth_site, "reader"):
        reader.open_record(ticket["id"])
        expect(reader.page.locator("[data-uitest=buttons]")).to_have_count(0)
        fresh = plinth_site.ticket("reader", subject="Reader's own")
        reader.open_record(fresh["id"])
        expect(reader.page.locator("[data-transition]")).to_have_count(0)


def test_a_manual_workflows_button_runs_it(plinth_site: PlinthSite, agent: Tab) -> None:
    ticket = plinth_site.ticket("agent", subject="Angry customer")
    agent.open_record(ticket["id"])
    page = agent.page
    assert page.locator("[data-action=escalate]").inner_text() == "Escalate"
    expect(page.locator("[data-action=ping]")).to_have_count(0)  # not the agent's action
    page.click("[data-action=escalate]")
    # the page follows the run it started (it reloads itself until the run is finished)
    expect(page.get_by_role("status")).to_have_text(
        "The run of Escalate is succeeded", timeout=30_000
    )
    run_row = page.locator("[data-uitest=runs] tbody tr").first
    assert run_row.get_attribute("data-status") == "succeeded"
    effect = next(h for h in agent.history() if h["actor"] == "workflow:escalate")
    assert effect["changes"]["escalated"] == ["false", "true"]
    assert effect["changes"]["priority"] == ["3", "5"]
    agent.screenshot("record-action-run")


def wait_for_status(tab: Tab, url: str, status: str, timeout: float = 45) -> None:
    deadline = time.monotonic() + timeout
    while True:
        tab.page.goto(url)
        if tab.page.locator("[data-uitest=run_status]").inner_text() == status:
            return
        assert time.monotonic() < deadline, f"the run never became {status}"
        time.sleep(0.5)


def test_a_dead_run_is_retried_from_the_runs_page(plinth_site: PlinthSite, owner: Tab) -> None:
    plinth_site.hook.status = 500  # the target always fails
    try:
        ticket = plinth_site.ticket("owner", subject="Hook me")
        owner.open_record(ticket["id"])
        owner.page.click("[data-action=ping]")
        run_link = owner.page.locator("[data-uitest=runs] tbody tr a.status").first
        run_url = run_link.evaluate("a => a.href")
        wait_for_status(owner, run_url, "dead")
    finally:
        plinth_site.hook.status = 200  # fixed
    page = owner.page
    page.goto(f"{plinth_site.url}/admin/plinth/runs/?status=dead&workflow=ping")
    row = page.locator(
        "[data-uitest=runs] tbody tr",
        has=page.locator(f'a[href="{run_url.removeprefix(plinth_site.url)}"]'),
    )
    assert row.get_attribute("data-status") == "dead"
    assert "500" in row.locator(".last-error").inner_text()
    assert row.locator("td").nth(3).inner_text() == "2"  # attempts
    owner.screenshot("runs-dead")
    page.goto(f"{plinth_site.url}/admin/plinth/")  # the overview lists it too, with a link
    dead = page.locator("section", has_text="Dead runs").locator(
        f'[data-run="{run_url.rstrip("/").rsplit("/", 1)[1]}"]'
    )
    expect(dead).to_be_visible()
    owner.screenshot("overview")
    page.goto(f"{plinth_site.url}/admin/plinth/runs/?status=dead&workflow=ping")
    row.get_by_role("button", name="Retry").click()
    expect(page.locator("[data-uitest=run_status]")).to_have_text("succeeded")
    assert "Retried: the run is succeeded" in page.get_by_role("status").inner_text()
    steps = page.locator("[data-uitest=steps]").inner_text()
    assert "200" in steps
    owner.screenshot("run-retried")


def test_the_overview_counts_what_the_role_may_read(plinth_site: PlinthSite, browser: Any) -> None:
    plinth_site.ticket("mine", subject="Only mine")
    for who in ("owner", "reader", "mine"):
        with plinth_site.client(who) as client:
            expected = client.get("/api/tickets", params={"count": "true"}).json()["meta"]["count"]
        for tab in tab_for(browser, plinth_site, who):
            tab.page.goto(f"{plinth_site.url}/admin/")
            expect(tab.page.locator("#plinth-pill")).to_be_visible()
            # the link stays under piccolo-admin's menus: the user menu's items are clickable
            tab.page.click('a[data-uitest="nav_dropdown_button"]')
            tab.page.click('#drop_down_menu a:has-text("MFA Setup")', trial=True)
            tab.page.click('a[data-uitest="nav_dropdown_button"]')
            tab.page.click("#plinth-pill")  # from piccolo-admin's home page
            tab.page.wait_for_url(re.compile(r".*/admin/plinth/$"))
            shown = tab.page.locator('[data-entity="Ticket"] .n').inner_text()
            assert int(shown) == expected, (who, shown, expected)
            if who == "owner":
                expect(tab.page.locator("[data-uitest=timeline] tbody tr").first).to_be_visible()
    with plinth_site.client("mine") as client:
        assert client.get("/api/tickets", params={"count": "true"}).json()["meta"]["count"] == 1


# -- the same pages over HTTP: paging, row rules, CSRF, who may press what ---------------------


@contextlib.contextmanager
def admin_as(site: PlinthSite, who: str) -> Iterator[httpx.Client]:
    """An admin session of `who` over HTTP (signed in as the front-end does)."""
    client = admin_client(site.url, site.users[who])
    try:
        yield client
    finally:
        client.close()


def history_rows(html: str) -> int:
    return html.count("<tr data-event=")


def test_history_is_paged_and_follows_the_row_rule(plinth_site: PlinthSite) -> None:
    ticket = plinth_site.ticket("owner", subject="Edited often")
    with plinth_site.client("owner") as client:
        for n in range(24):
            response = client.patch(f"/api/tickets/{ticket['id']}", json={"subject": f"Edit {n}"})
            assert response.status_code == 200, response.text
    url = f"/plinth/records/ticket/{ticket['id']}/"
    with admin_as(plinth_site, "owner") as owner:
        first = owner.get(url)
        assert first.status_code == 200 and history_rows(first.text) == 20
        assert '<span class="new">Edit 23</span>' in first.text  # the newest first
        older = re.search(r'href="\?after=([^"]+)" data-uitest="older"', first.text)
        assert older is not None, first.text
        second = owner.get(url + "?after=" + html.unescape(older.group(1)))
        assert history_rows(second.text) == 5 and 'data-uitest="older"' not in second.text
        assert 'data-event="created"' in second.text
        assert '<span class="new">Edit 23</span>' not in second.text
        forged = owner.get(url, params={"after": "[1, 2"})
        assert forged.status_code == 400 and "after" in forged.text
        odd = owner.get(url, params={"after": '["-at,-id", ["yesterday", 3]]'})
        assert odd.status_code == 400, odd.text
    # `mine` reads only its own tickets: another's page is not found, its own is there
    own = plinth_site.ticket("mine", subject="Mine alone")
    with admin_as(plinth_site, "mine") as mine:
        refused = mine.get(url)
        assert refused.status_code == 404 and "Edit" not in refused.text
        assert mine.get(f"/plinth/records/ticket/{own['id']}/").status_code == 200
        assert "Edited often" not in mine.get("/plinth/").text


def test_buttons_check_csrf_and_roles(plinth_site: PlinthSite) -> None:
    ticket = plinth_site.ticket("owner", subject="Pressed")
    base = f"/plinth/records/ticket/{ticket['id']}"
    with admin_as(plinth_site, "agent") as agent:
        bare = agent.post(
            f"{base}/transitions/start/", data={"version": "1"}, headers={"X-CSRFToken": ""}
        )
        assert bare.status_code == 403 and "CSRF" in bare.text
        token = {"csrftoken": agent.cookies["csrftoken"]}
        ping = agent.post(f"{base}/actions/ping/", data=token)
        assert ping.status_code == 403 and "ping" in ping.text  # not the agent's action
        unknown = agent.post(f"{base}/transitions/reopen/", data={**token, "version": "1"})
        assert unknown.status_code == 404
        wrong_state = agent.post(f"{base}/transitions/close/", data={**token, "version": "1"})
        assert wrong_state.status_code == 409 and "is &#39;new&#39;" in wrong_state.text
    with admin_as(plinth_site, "reader") as reader:
        token = {"csrftoken": reader.cookies["csrftoken"]}
        refused = reader.post(f"{base}/transitions/start/", data={**token, "version": "1"})
        assert refused.status_code == 403 and "start" in refused.text
    assert plinth_site.timeline("owner", ticket["id"])[0]["event"] == "created"  # untouched


def test_retry_is_for_those_allowed(plinth_site: PlinthSite) -> None:
    ticket = plinth_site.ticket("owner", subject="Dead end")
    plinth_site.hook.status = 500
    try:
        with plinth_site.client("owner") as client:
            run = client.post(f"/api/tickets/{ticket['id']}/actions/ping").json()
            deadline = time.monotonic() + 45
            while client.get(f"/api/workflow-runs/{run['id']}").json()["status"] != "dead":
                assert time.monotonic() < deadline, "the run never died"
                time.sleep(0.3)
    finally:
        plinth_site.hook.status = 200
    url = f"/plinth/runs/{run['id']}/"
    with admin_as(plinth_site, "agent") as agent:  # sees the run, may not start `ping`
        shown = agent.get(url)
        assert shown.status_code == 200 and 'data-uitest="retry"' not in shown.text
        refused = agent.post(url, data={"csrftoken": agent.cookies["csrftoken"]})
        assert refused.status_code == 403
    with admin_as(plinth_site, "agent_b") as other:
        assert other.get(url).status_code == 404
        assert other.post(url, data={"csrftoken": other.cookies["csrftoken"]}).status_code == 404
    with admin_as(plinth_site, "owner") as owner:
        listed = owner.get("/plinth/runs/", params={"status": "dead", "workflow": "ping"})
        assert run["id"] in listed.text
        assert run["id"] not in owner.get("/plinth/runs/", params={"status": "succeeded"}).text
        assert owner.get("/plinth/runs/", params={"status": "nope"}).status_code == 400
        retried = owner.post(url, data={"csrftoken": owner.cookies["csrftoken"]})
        assert retried.status_code == 200 and "Retried: the run is succeeded" in retried.text
        again = owner.post(url, data={"csrftoken": owner.cookies["csrftoken"]})
        assert again.status_code == 409 and "only a dead run" in again.text


def test_a_deleted_records_history_stays(plinth_site: PlinthSite) -> None:
    """For those who could read the record (the service's timeline read), not for others."""
    ticket = plinth_site.ticket("owner", subject="Gone soon")
    with plinth_site.client("owner") as client:
        assert client.delete(f"/api/tickets/{ticket['id']}").status_code == 204
    url = f"/plinth/records/ticket/{ticket['id']}/"
    with admin_as(plinth_site, "agent_b") as other:
        refused = other.get(url)
        assert refused.status_code == 404 and "Gone soon" not in refused.text
    with admin_as(plinth_site, "owner") as owner:
        page = owner.get(url)
        assert page.status_code == 200, page.text
        assert 'data-uitest="deleted"' in page.text and 'data-event="deleted"' in page.text
        assert 'data-uitest="buttons"' not in page.text
