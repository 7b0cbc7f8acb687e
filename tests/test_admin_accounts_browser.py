"""Acceptance in headless Chromium: change password and MFA setup from the admin's user menu
(then the login asks for the code), and the members page (an owner adds an agent; agents and
viewers are refused the page). Screenshots of the members page
for each role land in artifacts/screenshots/ (CI keeps them; docs/guides/admin.md shows them).

The front-end's addresses and selectors this relies on (piccolo-admin 1.14), besides those of
tests/test_admin_browser.py: the user menu `a[data-uitest=nav_dropdown_button]` → `#drop_down_menu`
with the "Change Password" and "MFA Setup" links; the change-password form at
#/change-password/ with three password inputs and a "Change Password" button; the sidebar's
custom links (`sidebar_links`) as plain `<a href>`.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyotp
import pytest

from tests.admin_browser import AdminPage, chromium
from tests.admin_session import admin_client
from tests.conftest import PASSWORD, REPO, Site

pytestmark = pytest.mark.browser

SCREENSHOTS = REPO / "artifacts" / "screenshots"
NEW_PASSWORD = "a new and longer passphrase"


@pytest.fixture
def browser(site: Site) -> Iterator[object]:
    """Chromium, started after `site` (see tests/admin_browser.py)."""
    with chromium() as browser:
        yield browser


def screenshot(tab: AdminPage, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    tab.page.screenshot(path=str(path), full_page=True)
    return path


def test_change_password_from_the_user_menu(site: Site, browser: object) -> None:
    other = admin_client(site.url, site.a)  # another session of the same user
    tab = AdminPage(browser, site)
    try:
        tab.sign_in(site.a)
        page = tab.page
        tab.budget.step("user menu")
        page.click('a[data-uitest="nav_dropdown_button"]')
        page.click('#drop_down_menu a:has-text("Change Password")')
        page.wait_for_url("**/admin/#/change-password/")
        fields = page.locator('#change_password input[type="password"]')
        for index, value in enumerate((PASSWORD, NEW_PASSWORD, NEW_PASSWORD)):
            fields.nth(index).fill(value)
        tab.budget.step("change")
        with page.expect_response(lambda r: r.url.endswith("/admin/api/change-password/")) as sent:
            page.click('#change_password button:has-text("Change Password")')
        assert sent.value.status == 200, sent.value.text()
        page.get_by_text("Changed password successfully").wait_for()
        page.wait_for_url("**/admin/#/")  # still signed in: the front-end goes home
        page.wait_for_selector('.sidebar a[href="#/ticket/"]')
    finally:
        tab.close()
    assert other.get("/api/user/").status_code == 401
    old = httpx.post(f"{site.url}/auth/token", json={"email": site.a, "password": PASSWORD})
    new = httpx.post(f"{site.url}/auth/token", json={"email": site.a, "password": NEW_PASSWORD})
    assert (old.status_code, new.status_code) == (401, 200)


def test_an_owner_adds_an_agent_on_the_members_page(site: Site, browser: object) -> None:
    agent = f"agent-{uuid.uuid4().hex[:6]}@acme.test"
    tab = AdminPage(browser, site)
    try:
        tab.sign_in(site.a)
        page = tab.page
        tab.budget.step("members page")
        page.click('.sidebar a:has-text("Members")')
        page.wait_for_url("**/admin/members/")
        form = page.locator('form[data-uitest="add_member"]')
        form.locator('input[name="email"]').fill(agent)
        form.locator('select[name="role"]').select_option("agent")
        form.locator('input[name="password"]').fill(PASSWORD)
        form.locator('button[type="submit"]').click()
        page.get_by_text(f"{agent} now has the role agent").wait_for()
        row = page.locator(f'tr[data-email="{agent}"]')
        assert re.search(r"agent", row.inner_text())
        screenshot(tab, "members-owner")
        page.click("text=Back to the admin")
        page.wait_for_selector('.sidebar a[href="#/ticket/"]')
    finally:
        tab.close()

    with site.client(agent) as client:
        made = client.post("/api/tickets", json={"subject": "made by the added agent"})
        assert made.status_code == 201, made.text
    viewer = f"viewer-{uuid.uuid4().hex[:6]}@acme.test"
    owner = admin_client(site.url, site.a)
    fields = {"action": "add", "email": viewer, "role": "viewer", "password": PASSWORD}
    added = owner.post("/members/", data={"csrftoken": owner.cookies["csrftoken"], **fields})
    assert added.status_code == 200, added.text
    for role, email in (("agent", agent), ("viewer", viewer)):
        tab = AdminPage(browser, site)
        try:
            tab.sign_in(email)
            tab.page.goto(f"{site.url}/admin/members/")
            tab.page.get_by_text("only an organization's owners manage its members").wait_for()
            screenshot(tab, f"members-{role}")
        finally:
            tab.close()


def test_mfa_setup_from_the_user_menu_then_the_login_asks_for_the_code(
    site: Site, browser: object
) -> None:
    tab = AdminPage(browser, site)
    try:
        tab.sign_in(site.a)
        page = tab.page
        tab.budget.step("MFA setup")
        page.click('a[data-uitest="nav_dropdown_button"]')
        page.click('#drop_down_menu a:has-text("MFA Setup")')
        page.wait_for_url("**/admin/api/mfa-setup/")
        page.fill('input[name="password"]', PASSWORD)
        page.click('button[data-uitest="mfa_start"]')
        secret = page.locator('code[data-uitest="mfa_secret"]').inner_text()
        assert page.locator('[data-uitest="mfa_recovery_codes"] li').count() == 10
        screenshot(tab, "mfa-setup")
        app = pyotp.TOTP(secret)
        page.fill('input[name="code"]', app.now())
        page.click('button[data-uitest="mfa_confirm"]')
        page.locator('[data-uitest="mfa_on"]').wait_for()
    finally:
        tab.close()

    tab = AdminPage(browser, site)
    try:
        page = tab.page
        tab.fill_login(site.a)
        page.click('button[data-uitest="login_button"]')
        code = page.locator('input[placeholder="123456"]')
        code.wait_for()
        code.fill(app.at(time.time() + 30))  # the next step: the current one was used
        with page.expect_response(lambda r: r.url.endswith("/admin/public/login/")) as login:
            page.click('button[data-uitest="login_button"]')
        assert login.value.status == 200, login.value.text()
        page.wait_for_selector('.sidebar a[href="#/ticket/"]')
    finally:
        tab.close()
