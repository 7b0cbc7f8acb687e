"""Acceptance in headless Chromium: file fields on the admin's edit page (issue 14, point 5).

The owner uploads an image, sees its preview, downloads it byte for byte, saves the form
(no false conflict), replaces the image (the old object goes after the commit: the in-process
worker of `plinth serve`), and removes it. A clerk who may read `photo` but not write it sees
the preview and the download link and no upload or remove control, and no widget at all for
`secret`, which it may not read. Neither page, nor any admin API answer, holds a storage key."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.admin_browser import AdminPage, chromium
from tests.admin_session import admin_client
from tests.conftest import REPO
from tests.files.conftest import FileSite
from tests.files.images import png

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("files_site", [("disk", "sqlite")], indirect=True),
]
RED, BLUE = png(160, 100, (200, 30, 30)), png(90, 120, (30, 60, 200))
SHOTS = REPO / "docs" / "guides" / "img"


@pytest.fixture
def browser(files_site: FileSite) -> Iterator[Any]:
    """One Chromium, started after the site (see tests/admin_browser.py)."""
    with chromium() as browser:
        yield browser


def _open(tab: AdminPage, doc: dict) -> None:
    tab.budget.step("edit page")
    tab.page.goto(f"{tab.site.url}/admin/#/document/{doc['id']}/")
    expect(tab.page.locator('input[name="title"]')).to_have_value(doc["title"])


def _widget(tab: AdminPage, field: str) -> Any:
    return tab.page.locator(f'.plinth-file[data-plinth-file="{field}"]')


def _preview_shows(tab: AdminPage, field: str, image: bytes, size: tuple[int, int]) -> None:
    """The widget's preview is this image, loaded (the browser decoded it)."""
    img = _widget(tab, field).locator("img")
    sha = hashlib.sha256(image).hexdigest()
    expect(img).to_have_attribute("src", re.compile(rf"/{field}/\?inline=1&v={sha}$"))
    tab.page.wait_for_function(
        "([img, w, h]) => img.complete && img.naturalWidth === w && img.naturalHeight === h",
        arg=[img.element_handle(), *size],
    )


def _upload(tab: AdminPage, field: str, name: str, image: bytes) -> None:
    page = tab.page
    tab.budget.step(f"upload {name}")
    with page.expect_response(
        lambda r: "/api/plinth/files/" in r.url and r.request.method == "PUT"
    ) as sent:
        _widget(tab, field).locator('input[type="file"]').set_input_files(
            files=[{"name": name, "mimeType": "image/png", "buffer": image}]
        )
    assert sent.value.status == 200, sent.value.text()


def _save(tab: AdminPage) -> None:
    page = tab.page
    tab.budget.step("save")
    with page.expect_response(
        lambda r: "/api/tables/document/" in r.url and r.request.method in ("PATCH", "PUT")
    ) as saved:
        page.click('button[data-uitest="save_button"]')
    assert saved.value.status in (200, 204), saved.value.text()
    page.get_by_text("Successfully saved row").wait_for()


def _no_key_anywhere(tab: AdminPage, keys: set[str]) -> None:
    html = tab.page.content()
    seen = [body for _, _, body in tab.api_bodies()] + [html]
    for key in keys:
        assert not any(key in text for text in seen), f"storage key {key} reached the browser"
    stored = ('"key":', '"key": ', "&quot;key&quot;")  # the stored reference, as JSON
    holding = [url for url, _, body in tab.api_bodies() if any(m in body for m in stored)]
    assert not holding and not any(m in html for m in stored), holding


def test_an_owner_uploads_previews_downloads_replaces_and_removes(
    files_site: FileSite, browser: Any, tmp_path: Path
) -> None:
    site = files_site.site
    doc = files_site.document(site.a, title="Site photo")
    keys: set[str] = set()
    tab = AdminPage(browser, site)
    try:
        tab.sign_in(site.a, table="document")
        _open(tab, doc)
        _upload(tab, "photo", "red.png", RED)
        _preview_shows(tab, "photo", RED, (160, 100))
        expect(_widget(tab, "photo")).to_contain_text(f"red.png ({len(RED)} B)")
        expect(tab.page.locator('input[name="version"]')).to_have_value("2")
        keys |= set(files_site.objects.of(doc["id"]))
        tab.budget.step("download")
        with tab.page.expect_download() as download:
            _widget(tab, "photo").locator("a.plinth-file-download").click()
        assert download.value.suggested_filename == "red.png"
        assert Path(download.value.path()).read_bytes() == RED
        expect(_widget(tab, "pdf")).to_contain_text("No file.")
        tab.page.screenshot(path=str(SHOTS / "admin-file-field.png"), full_page=True)

        tab.page.locator('input[name="title"]').fill("Site photo, north side")
        _save(tab)  # the form stands for the upload's version: no conflict

        _upload(tab, "photo", "blue.png", BLUE)
        _preview_shows(tab, "photo", BLUE, (90, 120))
        keys |= set(files_site.objects.of(doc["id"]))
        assert len(keys) == 2
        assert len(files_site.objects.wait_for(doc["id"], 1)) == 1  # the red one is gone
        tab.budget.step("remove")
        with tab.page.expect_response(lambda r: r.request.method == "DELETE") as removed:
            _widget(tab, "photo").locator("button.plinth-file-remove").click()
        assert removed.value.status == 200, removed.value.text()
        expect(_widget(tab, "photo")).to_contain_text("No file.")
        assert files_site.objects.wait_for(doc["id"], 0) == []
        assert "Remove blue.png?" in tab.dialogs  # asked before removing
        _no_key_anywhere(tab, keys)
    finally:
        tab.close()
    with files_site.client(site.a) as client:
        record = client.get(f"/api/documents/{doc['id']}").json()
    assert record["photo"] is None and record["title"] == "Site photo, north side"


def test_a_reader_sees_the_file_and_no_controls(files_site: FileSite, browser: Any) -> None:
    site = files_site.site
    doc = files_site.document(site.a, title="Read only")
    with files_site.client(site.a) as client:
        for field, body in (("photo", RED), ("secret", b"top secret")):
            path = f"/api/documents/{doc['id']}/files/{field}?name={field}.bin"
            assert client.put(path, content=body).status_code == 200
    keys = set(files_site.objects.of(doc["id"]))
    tab = AdminPage(browser, site)
    try:
        tab.sign_in(files_site.clerk, table="document")
        tab.budget.step("list and add page")
        tab.page.click('.sidebar a[href="#/document/"]')
        expect(tab.page.locator(".table_wrapper")).to_contain_text("photo.bin")  # its name
        tab.page.goto(f"{site.url}/admin/#/document/add/")
        expect(_widget(tab, "photo")).to_have_text("The file can be added after saving.")
        _open(tab, doc)
        _preview_shows(tab, "photo", RED, (160, 100))
        photo = _widget(tab, "photo")
        expect(photo.locator("a.plinth-file-download")).to_have_count(1)
        expect(photo.locator('input[type="file"], button.plinth-file-remove')).to_have_count(0)
        expect(_widget(tab, "pdf").locator('input[type="file"]')).to_have_count(1)  # may write
        expect(_widget(tab, "secret")).to_have_count(0)
        tab.page.screenshot(path=str(SHOTS / "admin-file-field-read-only.png"), full_page=True)
        _no_key_anywhere(tab, keys)
    finally:
        tab.close()
    clerk = admin_client(site.url, files_site.clerk)
    route = f"/api/plinth/files/document/{doc['id']}"
    refused = clerk.put(f"{route}/photo/?name=x.png", content=BLUE)
    assert refused.status_code == 403, refused.text
    assert clerk.get(f"{route}/secret/").status_code == 404
    assert clerk.get(f"{route}/photo/").content == RED
