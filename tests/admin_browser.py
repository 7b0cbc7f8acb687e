"""The admin in headless Chromium (Debian's, not a download), for the browser tests: the
browser, a tab with a time budget, and signing in on the admin's login form.

Start Chromium after the fixtures that set up the site: while Playwright's sync API is active,
its event loop counts as running in this thread, so `asyncio.run` (which those fixtures and the
database checks use) would fail; they run before it starts or in a worker thread."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import sync_playwright

from tests.conftest import PASSWORD, Site

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
STEP_TIMEOUT_MS = 10_000  # any one wait of the UI
TEST_BUDGET_S = 60.0  # the whole test, browser part


class Budget:
    """A total time limit for one test: every wait gets at most what is left of it."""

    def __init__(self, page: Any, seconds: float) -> None:
        self.page = page
        self.deadline = time.monotonic() + seconds

    def step(self, name: str) -> None:
        left_ms = (self.deadline - time.monotonic()) * 1000
        assert left_ms > 0, f"test ran over its {TEST_BUDGET_S:.0f}s budget before {name!r}"
        self.page.set_default_timeout(min(STEP_TIMEOUT_MS, left_ms))


class AdminPage:
    """One browser tab on the admin, with every API response and dialog it saw."""

    def __init__(self, browser: Any, site: Site) -> None:
        self.site = site
        self.context = browser.new_context()
        self.page = self.context.new_page()
        self.budget = Budget(self.page, TEST_BUDGET_S)
        self.budget.step("start")
        self.responses: list[Any] = []
        self.dialogs: list[str] = []
        self.page.on("response", self._on_response)
        self.page.on("dialog", self._on_dialog)

    def _on_response(self, response: Any) -> None:
        if "/admin/api/" in response.url or "/admin/public/" in response.url:
            self.responses.append(response)

    def _on_dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.accept()

    def close(self) -> None:
        self.context.close()

    def api_bodies(self) -> list[tuple[str, int, str]]:
        """(url, status, body) of every admin API response so far."""
        seen = []
        for response in self.responses:
            try:
                body = response.text()
            except Exception:  # redirects and aborted requests have no body
                body = ""
            seen.append((response.url, response.status, body))
        return seen

    def fill_login(self, email: str) -> None:
        """The admin's login form, filled in for `email` (with PASSWORD) but not sent."""
        page = self.page
        self.budget.step("login form")
        page.goto(f"{self.site.url}/admin/")
        page.wait_for_url("**/admin/#/login/**")
        page.fill('input[name="username"]', email)
        page.fill('input[name="password"]', PASSWORD)

    def sign_in(self, email: str, table: str = "ticket") -> None:
        """Signed in as `email`: the login answered 200 and the sidebar links to `table`."""
        self.fill_login(email)
        page = self.page
        with page.expect_response(lambda r: r.url.endswith("/admin/public/login/")) as login:
            page.click('button[data-uitest="login_button"]')
        assert login.value.status == 200, login.value.text()
        self.budget.step("home page")
        page.wait_for_selector(f'.sidebar a[href="#/{table}/"]')

    def open_ticket_list(self) -> None:
        page = self.page
        self.budget.step("ticket list")
        with page.expect_response(
            lambda r: "/admin/api/tables/ticket/?" in r.url and r.request.method == "GET"
        ) as rows:
            page.click('.sidebar a[href="#/ticket/"]')
        assert rows.value.status == 200, rows.value.text()
        page.wait_for_url("**/admin/#/ticket/")
        page.wait_for_selector("#result_count")

    def save_ticket(self, ticket_id: str) -> None:
        """Click Save on a ticket's edit page; the API takes it and the UI reports success."""
        page = self.page
        with page.expect_response(
            lambda r: (
                f"/admin/api/tables/ticket/{ticket_id}/" in r.url
                and r.request.method in ("PATCH", "PUT")
            )
        ) as saved:
            page.click('button[data-uitest="save_button"]')
        assert saved.value.status in (200, 204), saved.value.text()
        page.get_by_text("Successfully saved row").wait_for()

    def row_ids(self) -> set[str]:
        links = self.page.locator('.table_wrapper tbody a[href^="#/ticket/"]')
        return {
            href.split("/")[2]
            for href in links.evaluate_all("els => els.map(e => e.getAttribute('href'))")
        }

    def visible_text(self) -> str:
        """The page's text and the values of its form fields (which are not in its text)."""
        return self.page.evaluate(
            """() => document.body.textContent + "\\n" +
                Array.from(document.querySelectorAll("input, textarea, select"))
                    .map(e => e.value).join("\\n")"""
        )


@contextmanager
def chromium() -> Iterator[Any]:
    """One headless Chromium, closed on the way out; the test is skipped without it."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()
