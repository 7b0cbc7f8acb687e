"""File fields in the admin over real HTTP: rows without the storage key, a form save that
never touches a file, and the admin's file routes under the service's rules."""

from __future__ import annotations

import hashlib

import httpx

from tests.admin_session import admin_client
from tests.files.conftest import FileSite
from tests.files.images import png
from tests.files.test_file_api import PDF

RED = png(4, 3, (200, 30, 30))


def _route(doc: dict, field: str) -> str:
    return f"/api/plinth/files/document/{doc['id']}/{field}/"


def _upload(client: httpx.Client, doc: dict, field: str, body: bytes, name: str, **headers: str):
    return client.put(
        f"{_route(doc, field)}?name={name}",
        content=body,
        headers={"Content-Type": "application/octet-stream", **headers},
    )


def test_admin_rows_and_schema_show_files_without_their_key(files_site: FileSite) -> None:
    site = files_site.site
    doc = files_site.document(site.a)
    with files_site.client(site.a) as api:
        api.put(f"/api/documents/{doc['id']}/files/photo?name=red.png", content=RED)
    [key] = files_site.objects.of(doc["id"])
    owner, clerk = admin_client(site.url, site.a), admin_client(site.url, files_site.clerk)
    listed = owner.get("/api/tables/document/", params={"__readable": "true"})
    one = owner.get(f"/api/tables/document/{doc['id']}/")
    schema = owner.get("/api/tables/document/schema/").json()["properties"]
    clerk_schema = clerk.get("/api/tables/document/schema/").json()["properties"]
    clerk_one = clerk.get(f"/api/tables/document/{doc['id']}/")
    for response in (listed, one, clerk_one):
        assert response.status_code == 200 and key not in response.text, response.text
        assert '"key"' not in response.text
    [row] = [r for r in listed.json()["rows"] if r["id"] == doc["id"]]
    assert row["photo"] == "red.png" and row["pdf"] is None  # the list shows the name
    assert one.json()["photo"] == {
        "name": "red.png",
        "size": len(RED),
        "content_type": "image/png",
        "sha256": hashlib.sha256(RED).hexdigest(),
        "url": f"/admin{_route(doc, 'photo')}",
    }
    assert schema["photo"]["extra"]["plinth_read_only"] is True  # the form never sends it
    assert schema["photo"]["extra"]["plinth_file"] == {"writable": True}
    assert clerk_schema["photo"]["extra"]["plinth_file"] == {"writable": False}
    assert clerk_schema["pdf"]["extra"]["plinth_file"] == {"writable": True}
    assert "secret" not in clerk_schema and "secret" not in clerk_one.json()
    joined = owner.get("/api/tables/document/", params={"photo": key.split("/")[0]})
    assert joined.status_code == 400  # no probing the stored reference by filter
    empty = owner.get("/api/tables/document/", params={"pdf__operator": "is_null"})
    assert empty.status_code == 200 and doc["id"] in empty.text


def test_a_form_save_never_changes_or_clears_a_file(files_site: FileSite) -> None:
    site = files_site.site
    doc = files_site.document(site.a)
    with files_site.client(site.a) as api:
        api.put(f"/api/documents/{doc['id']}/files/photo?name=red.png", content=RED)
    owner = admin_client(site.url, site.a)
    url = f"/api/tables/document/{doc['id']}/"
    cleared = owner.patch(url, json={"title": "renamed", "photo": None, "version": 2})
    assert cleared.status_code == 200, cleared.text
    sent_back = owner.put(url, json={"title": "again", "photo": '{"key": "x/y"}', "version": 3})
    assert sent_back.status_code == 204, sent_back.text
    with files_site.client(site.a) as api:
        record = api.get(f"/api/documents/{doc['id']}").json()
        assert api.get(f"/api/documents/{doc['id']}/files/photo").content == RED
    assert record["title"] == "again" and record["photo"]["name"] == "red.png"


def test_admin_file_routes_follow_the_services_rules(files_site: FileSite) -> None:
    site = files_site.site
    doc = files_site.document(site.a)
    owner, clerk = admin_client(site.url, site.a), admin_client(site.url, files_site.clerk)
    other = admin_client(site.url, site.b)
    for client in (owner, clerk, other):  # a browser follows a download to S3's presigned URL
        client.follow_redirects = True
    up = _upload(owner, doc, "photo", RED, "red.png")
    assert up.status_code == 200, up.text
    assert up.json()["photo"]["url"] == f"/admin{_route(doc, 'photo')}"
    got = owner.get(_route(doc, "photo"))
    assert got.content == RED and got.headers["content-disposition"].startswith("attachment")
    inline = owner.get(_route(doc, "photo"), params={"inline": "1"})
    assert inline.content == RED and inline.headers["content-type"] == "image/png"
    assert inline.headers["content-disposition"].startswith("inline")
    if files_site.objects.presigned_from is None:  # a presigned URL cannot carry it
        assert inline.headers["x-content-type-options"] == "nosniff"
    as_form = owner.put(_route(doc, "pdf"), files={"file": ("a.pdf", PDF, "application/pdf")})
    assert as_form.status_code == 200 and as_form.json()["pdf"]["name"] == "a.pdf"
    pdf = owner.get(_route(doc, "pdf"), params={"inline": "1"})
    assert pdf.headers["content-disposition"].startswith("attachment")  # images only
    assert _upload(owner, doc, "pdf", RED, "x.pdf").status_code == 415  # sniffed: a PNG
    no_csrf = owner.put(_route(doc, "photo"), content=b"x", headers={"X-CSRFToken": "wrong"})
    assert no_csrf.status_code == 403
    assert clerk.get(_route(doc, "photo")).content == RED  # may read
    assert _upload(clerk, doc, "photo", RED, "c.png").status_code == 403  # may not write
    assert clerk.delete(_route(doc, "photo")).status_code == 403
    assert _upload(owner, doc, "secret", b"s", "s.txt").status_code == 200
    assert clerk.get(_route(doc, "secret")).status_code == 404  # may not read
    for method in ("GET", "PUT", "DELETE"):
        assert other.request(method, _route(doc, "photo"), content=b"x").status_code == 404
    removed = owner.delete(_route(doc, "photo"))
    assert removed.status_code == 200 and removed.json()["photo"] is None
    assert owner.get(_route(doc, "photo")).status_code == 404
    with files_site.client(site.a) as api:
        assert api.get(f"/api/documents/{doc['id']}").json()["pdf"]["name"] == "a.pdf"


def test_a_file_change_from_the_edit_page_keeps_its_form_current(files_site: FileSite) -> None:
    """The page's form showed version 1; after its upload it stands for the new version (no
    false conflict), while another admin's form of version 1 is still refused."""
    site = files_site.site
    doc = files_site.document(site.a)
    mine, theirs = admin_client(site.url, site.a), admin_client(site.url, site.a)
    url = f"/api/tables/document/{doc['id']}/"
    up = _upload(mine, doc, "photo", RED, "red.png", **{"X-Plinth-Form-Version": "1"})
    assert up.status_code == 200 and up.json()["version"] == 2
    assert theirs.patch(url, json={"title": "theirs", "version": 1}).status_code == 409
    saved = mine.patch(url, json={"title": "mine", "version": 1})
    assert saved.status_code == 200 and saved.json()["version"] == 3, saved.text
    stale = _upload(theirs, doc, "photo", RED, "r.png", **{"X-Plinth-Form-Version": "1"})
    assert stale.status_code == 412  # their form is stale: no change
