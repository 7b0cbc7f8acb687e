"""File fields over real HTTP against `plinth serve`: upload (multipart and raw), download,
replace, remove, and the same tenant wall, row rules and field sets as any other field."""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.files.conftest import FileSite

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
KEY = re.compile(r"^[0-9a-f-]{36}/Document/[0-9a-f-]{36}/(\w+)/[0-9a-f]{32}$")


def _files(record: dict) -> str:
    return f"/api/documents/{record['id']}/files"


def _payload(size: int) -> bytes:
    """`size` bytes no sniffer takes for a known type."""
    return (b"plinth-" + os.urandom(max(size - 7, 0)))[:size]


def test_upload_then_download_is_byte_identical(files_site: FileSite) -> None:
    owner = files_site.site.a
    for size, multipart in [(1, True), (1, False), (5 * 1024 * 1024, True), (5 << 20, False)]:
        doc = files_site.document(owner)
        body = _payload(size)
        with files_site.client(owner) as client:
            if multipart:
                sent = client.post(
                    f"{_files(doc)}/blob", files={"file": ("data.bin", body, "text/plain")}
                )
            else:
                sent = client.put(
                    f"{_files(doc)}/blob?name=data.bin",
                    content=body,
                    headers={"Content-Type": "application/octet-stream"},
                )
            assert sent.status_code == 200, sent.text
            got = files_site.served(client.get(f"{_files(doc)}/blob"))
        digest = hashlib.sha256(body).hexdigest()
        content_type = "text/plain" if multipart else "application/octet-stream"
        assert got.status_code == 200 and got.content == body
        assert got.headers["content-length"] == str(size)
        assert got.headers["content-type"] == content_type  # no charset the API made up
        assert got.headers["content-disposition"] == (
            "attachment; filename=\"data.bin\"; filename*=UTF-8''data.bin"
        )
        if files_site.objects.presigned_from is None:  # S3's ETag is its own
            assert got.headers["etag"] == f'"{digest}"'
        shown = sent.json()["blob"]
        assert shown == {
            "name": "data.bin",
            "size": size,
            "content_type": content_type,
            "sha256": digest,
            "url": f"{_files(doc)}/blob",
        }
        assert sent.json()["version"] == 2 and sent.headers["etag"] == 'W/"2"'
        [key] = files_site.objects.of(doc["id"])
        assert KEY.match(key) and key.split("/")[3] == "blob"


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_a_50_mib_upload_streams_without_growing_the_server(files_site: FileSite) -> None:
    owner, pid = files_site.site.a, files_site.pid
    doc = files_site.document(owner)
    chunk = _payload(1 << 20)
    digest = hashlib.sha256(chunk * 50).hexdigest()
    with files_site.client(owner) as client:  # warm up: imports, pools, buffers
        client.put(f"{_files(doc)}/blob", content=chunk * 5)
        before, peak, done = _rss_kib(pid), [0], threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], _rss_kib(pid))
                done.wait(0.01)

        sampler = threading.Thread(target=sample)
        sampler.start()
        try:
            sent = client.put(f"{_files(doc)}/blob", content=iter([chunk] * 50))
        finally:
            done.set()
            sampler.join()
        assert sent.status_code == 200, sent.text
        assert sent.json()["blob"]["size"] == 50 << 20
        streamed = hashlib.sha256()
        with client.stream("GET", f"{_files(doc)}/blob") as got:
            files_site.served(got)
            for part in got.iter_bytes():
                streamed.update(part)
    assert streamed.hexdigest() == digest == sent.json()["blob"]["sha256"]
    assert (peak[0] - before) < 20 * 1024, f"RSS grew {(peak[0] - before) // 1024} MiB"


def test_max_size_plus_one_byte_is_413_and_nothing_is_stored(files_site: FileSite) -> None:
    owner = files_site.site.a
    doc = files_site.document(owner)
    too_big = PDF + b"%" * (1024 + 1 - len(PDF))
    with files_site.client(owner) as client:
        answers = [
            client.put(f"{_files(doc)}/pdf", content=too_big,
                       headers={"Content-Type": "application/pdf"}),  # Content-Length says so
            client.put(f"{_files(doc)}/pdf", content=iter([too_big[:600], too_big[600:]]),
                       headers={"Content-Type": "application/pdf"}),  # chunked: counted
            client.post(f"{_files(doc)}/pdf",
                        files={"file": ("big.pdf", too_big, "application/pdf")}),
        ]  # fmt: skip
        exact = client.put(f"{_files(doc)}/pdf", content=too_big[:-1],
                           headers={"Content-Type": "application/pdf"})  # fmt: skip
    for answer in answers:
        assert answer.status_code == 413, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert "max_size" in answer.json()["detail"]
    assert exact.status_code == 200 and exact.json()["pdf"]["size"] == 1024
    assert len(files_site.objects.of(doc["id"])) == 1  # only the one that fit


def test_max_size_plus_one_byte_after_a_multipart_part_leaves_no_upload(
    files_site: FileSite,
) -> None:
    """`scan` takes 9 MiB, more than one S3 part (8 MiB): a stream one byte over is refused
    after a part was sent, and the multipart upload is aborted, not left pending."""
    owner = files_site.site.a
    doc = files_site.document(owner)
    chunks = [_payload(1 << 20)] * 9 + [b"!"]
    with files_site.client(owner) as client:
        answer = client.put(f"{_files(doc)}/scan", content=iter(chunks))
    assert answer.status_code == 413, answer.text
    assert "max_size" in answer.json()["detail"]
    assert files_site.objects.of(doc["id"]) == []


def test_the_sniffed_type_must_be_accepted(files_site: FileSite) -> None:
    owner = files_site.site.a
    doc = files_site.document(owner)
    with files_site.client(owner) as client:
        png_as_pdf = client.post(
            f"{_files(doc)}/pdf", files={"file": ("scan.pdf", PNG, "application/pdf")}
        )
        raw_png_as_pdf = client.put(f"{_files(doc)}/pdf?name=scan.pdf", content=PNG,
                                    headers={"Content-Type": "application/pdf"})  # fmt: skip
        text_as_pdf = client.put(f"{_files(doc)}/pdf", content=b"just text",
                                 headers={"Content-Type": "application/pdf"})  # fmt: skip
        pdf_as_text = client.put(f"{_files(doc)}/pdf", content=PDF,
                                 headers={"Content-Type": "text/plain"})  # fmt: skip
        png_as_photo = client.put(f"{_files(doc)}/photo", content=PNG,
                                  headers={"Content-Type": "application/pdf"})  # fmt: skip
    for refused in (png_as_pdf, raw_png_as_pdf, text_as_pdf):
        assert refused.status_code == 415, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
    assert pdf_as_text.status_code == 200, pdf_as_text.text
    assert pdf_as_text.json()["pdf"]["content_type"] == "application/pdf"  # sniffed, not told
    assert png_as_photo.status_code == 200 and png_as_photo.json()["photo"]["content_type"] == (
        "image/png"
    )
    assert len(files_site.objects.of(doc["id"])) == 2


def test_a_file_is_never_set_by_value(files_site: FileSite) -> None:
    owner = files_site.site.a
    with files_site.client(owner) as client:
        created = client.post("/api/documents", json={"title": "x", "pdf": "../../etc/passwd"})
        doc = files_site.document(owner)
        client.put(f"{_files(doc)}/pdf", content=PDF)
        patched = client.patch(f"/api/documents/{doc['id']}", json={"pdf": {"key": "a/b"}})
        removed = client.patch(f"/api/documents/{doc['id']}", json={"pdf": None})
    for refused in (created, patched):
        assert refused.status_code == 422, refused.text
        [error] = refused.json()["errors"]
        assert error["field"] == "pdf" and error["code"] == "upload"
        assert "/files/pdf" in error["message"]
    assert removed.status_code == 200 and removed.json()["pdf"] is None
    assert files_site.objects.wait_for(doc["id"], 0) == []


def test_another_organization_gets_404_for_every_file_route(files_site: FileSite) -> None:
    site = files_site.site
    doc = files_site.document(site.a)
    with files_site.client(site.a) as client:
        client.put(f"{_files(doc)}/pdf", content=PDF)
    with files_site.client(site.b) as client:
        answers = [
            client.put(f"{_files(doc)}/pdf", content=PDF),
            client.post(f"{_files(doc)}/pdf", files={"file": ("x.pdf", PDF, "application/pdf")}),
            client.get(f"{_files(doc)}/pdf"),
            client.delete(f"{_files(doc)}/pdf"),
        ]
    for answer in answers:
        assert answer.status_code == 404, (answer.request.method, answer.text)
    with files_site.client(site.a) as client:
        assert client.get(f"{_files(doc)}/pdf").content == PDF
    assert len(files_site.objects.of(doc["id"])) == 1


def test_field_read_and_write_sets_apply(files_site: FileSite) -> None:
    site, clerk = files_site.site, files_site.clerk
    doc = files_site.document(site.a)
    with files_site.client(site.a) as client:
        client.put(f"{_files(doc)}/secret?name=s.txt", content=b"owner only")
        client.put(f"{_files(doc)}/photo", content=PNG)
    with files_site.client(clerk) as client:
        seen = client.get(f"/api/documents/{doc['id']}").json()
        secret = client.get(f"{_files(doc)}/secret")
        upload_secret = client.put(f"{_files(doc)}/secret", content=b"x")
        photo = client.get(f"{_files(doc)}/photo")
        upload_photo = client.put(f"{_files(doc)}/photo", content=PNG)
        remove_photo = client.delete(f"{_files(doc)}/photo")
        upload_pdf = client.put(f"{_files(doc)}/pdf", content=PDF)
    assert "secret" not in seen and seen["photo"]["content_type"] == "image/png"
    assert secret.status_code == 404 and upload_secret.status_code == 404
    assert files_site.served(photo).status_code == 200 and photo.content == PNG
    assert upload_photo.status_code == 403 and remove_photo.status_code == 403
    assert upload_pdf.status_code == 200, upload_pdf.text
    assert len(files_site.objects.of(doc["id"])) == 3


@pytest.mark.parametrize(
    ("how", "fallback", "exact"),
    [
        ("multipart", "x", "x"),
        ("query", "abc.pdf", "abc.pdf"),
        ("header", "resum_e.pdf", "r%C3%A9sum%22%C3%A9.pdf"),
    ],
)
def test_unsafe_names_are_stored_under_the_key_and_served_sanitized(
    files_site: FileSite, how: str, fallback: str, exact: str
) -> None:
    owner = files_site.site.a
    doc = files_site.document(owner)
    path = f"{_files(doc)}/blob"
    with files_site.client(owner) as client:
        if how == "multipart":
            sent = client.post(path, files={"file": ("../../x", b"data", "text/plain")})
        elif how == "query":
            sent = client.put(path, params={"name": "../a\x07b\x00\x1f\tc.pdf\n"}, content=b"d")
        else:
            disposition = (
                "attachment; filename=\"x\"; filename*=UTF-8''..%2Fr%C3%A9sum%22%C3%A9.pdf"
            )
            sent = client.put(path, content=b"d", headers={"Content-Disposition": disposition})
        assert sent.status_code == 200, sent.text
        got = files_site.served(client.get(path))
    [key] = files_site.objects.of(doc["id"])
    assert KEY.match(key)
    expected = f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{exact}"
    assert got.headers["content-disposition"] == expected
    assert "/" not in sent.json()["blob"]["name"]
    assert not re.search(r"[\x00-\x1f]", sent.json()["blob"]["name"])


def test_a_write_that_fails_after_the_upload_leaves_no_object(files_site: FileSite) -> None:
    """The record changes while the upload streams: the commit is refused (412, If-Match)
    after the bytes were stored, and the new object is deleted."""
    owner = files_site.site.a
    doc = files_site.document(owner)
    first_sent, go_on = threading.Event(), threading.Event()

    def body() -> Iterator[bytes]:
        yield _payload(64 * 1024)
        first_sent.set()
        go_on.wait(10)
        yield _payload(64 * 1024)

    answer: list = []

    def upload() -> None:
        with files_site.client(owner) as client:
            answer.append(
                client.put(f"{_files(doc)}/blob", content=body(), headers={"If-Match": 'W/"1"'})
            )

    uploader = threading.Thread(target=upload)
    uploader.start()
    assert first_sent.wait(10)
    with files_site.client(owner) as client:
        assert client.patch(f"/api/documents/{doc['id']}", json={"title": "new"}).is_success
    go_on.set()
    uploader.join(20)
    assert answer[0].status_code == 412, answer[0].text
    assert files_site.objects.of(doc["id"]) == []
    with files_site.client(owner) as client:
        record = client.get(f"/api/documents/{doc['id']}").json()
        stale = client.put(f"{_files(doc)}/blob", content=b"x", headers={"If-Match": 'W/"1"'})
        fresh = client.put(f"{_files(doc)}/blob", content=b"x", headers={"If-Match": 'W/"2"'})
    assert record["blob"] is None and record["version"] == 2
    assert stale.status_code == 412 and fresh.status_code == 200
    assert len(files_site.objects.of(doc["id"])) == 1


def test_replaced_removed_and_deleted_files_go_after_commit(files_site: FileSite) -> None:
    owner = files_site.site.a
    objects = files_site.objects
    doc = files_site.document(owner)
    with files_site.client(owner) as client:
        client.put(f"{_files(doc)}/blob", content=b"first")
        [first] = objects.of(doc["id"])
        client.put(f"{_files(doc)}/blob", content=b"second")
        [second] = objects.wait_for(doc["id"], 1)
        assert second != first
        assert client.get(f"{_files(doc)}/blob").content == b"second"
        client.put(f"{_files(doc)}/pdf", content=PDF)
        assert len(objects.wait_for(doc["id"], 2)) == 2
        removed = client.delete(f"{_files(doc)}/pdf")
        assert removed.status_code == 204
        assert objects.wait_for(doc["id"], 1) == [second]
        assert client.get(f"{_files(doc)}/pdf").status_code == 404
        assert client.delete(f"/api/documents/{doc['id']}").status_code == 204
    assert objects.wait_for(doc["id"], 0) == []


def test_a_cascade_delete_removes_the_files_too(files_site: FileSite) -> None:
    owner = files_site.site.a
    with files_site.client(owner) as client:
        note = client.post("/api/notes", json={"text": "n"}).json()
        doc = files_site.document(owner, owner_note=note["id"])
        client.put(f"{_files(doc)}/blob", content=b"child")
        assert len(files_site.objects.of(doc["id"])) == 1
        assert client.delete(f"/api/notes/{note['id']}").status_code == 204
        assert client.get(f"/api/documents/{doc['id']}").status_code == 404
    assert files_site.objects.wait_for(doc["id"], 0) == []


def test_the_timeline_records_name_size_and_sha256(files_site: FileSite) -> None:
    owner = files_site.site.a
    doc = files_site.document(owner)
    with files_site.client(owner) as client:
        client.put(f"{_files(doc)}/pdf?name=a.pdf", content=PDF)
        client.delete(f"{_files(doc)}/pdf")
        entries = client.get(f"/api/documents/{doc['id']}/timeline").json()["data"]
    summary = {"name": "a.pdf", "size": len(PDF), "sha256": hashlib.sha256(PDF).hexdigest()}
    removed, added = entries[0]["changes"]["pdf"], entries[1]["changes"]["pdf"]
    assert added == {"old": None, "new": summary}
    assert removed == {"old": summary, "new": None}


def test_download_headers_and_conditional_get(files_site: FileSite) -> None:
    owner = files_site.site.a
    doc = files_site.document(owner)
    with files_site.client(owner) as client:
        assert client.get(f"{_files(doc)}/pdf").status_code == 404  # no file yet
        assert client.get(f"{_files(doc)}/title").status_code == 404  # not a file field
        sha256 = client.put(f"{_files(doc)}/pdf?name=report.pdf", content=PDF).json()["pdf"][
            "sha256"
        ]
        got = files_site.served(client.get(f"{_files(doc)}/pdf"))
        again = client.get(f"{_files(doc)}/pdf", headers={"If-None-Match": got.headers["etag"]})
        known = client.get(f"{_files(doc)}/pdf", headers={"If-None-Match": f'"{sha256}"'})
        with_file = client.get("/api/documents", params={"pdf__isnull": "false", "fields": "pdf"})
    assert got.content == PDF and got.headers["content-type"] == "application/pdf"
    assert got.headers["content-disposition"] == (
        "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf"
    )
    if files_site.objects.presigned_from is None:  # S3 sets no such header
        assert got.headers["x-content-type-options"] == "nosniff"
    assert again.status_code == 304 and again.content == b""
    assert known.status_code == 304 and known.history == []  # the API's own ETag: no redirect
    listed = {r["id"]: r for r in with_file.json()["data"]}
    assert listed[doc["id"]]["pdf"]["name"] == "report.pdf"
    assert all(r["pdf"] is not None for r in listed.values())


def test_a_file_whose_bytes_are_gone_is_refused(files_site: FileSite) -> None:
    """The reference stays but the object was removed behind the API's back: a 404 from the
    API when it streams (not a 200 that breaks off); after a redirect S3 refuses the URL
    itself (moto, like AWS without s3:ListBucket, says 403; AWS with it, 404)."""
    owner = files_site.site.a
    doc = files_site.document(owner)
    with files_site.client(owner) as client:
        client.put(f"{_files(doc)}/blob", content=b"soon gone")
        [key] = files_site.objects.of(doc["id"])
        files_site.objects.remove(key)
        got = client.get(f"{_files(doc)}/blob")
    if files_site.objects.presigned_from is None:
        assert got.status_code == 404 and got.history == [], got.text
        assert got.headers["content-type"] == "application/problem+json"
        assert "missing from the storage" in got.json()["detail"]
    else:
        assert [r.status_code for r in got.history] == [302]
        assert got.status_code in (403, 404) and b"soon gone" not in got.content


def test_a_record_sent_back_whole_keeps_its_file(files_site: FileSite) -> None:
    owner = files_site.site.a
    doc = files_site.document(owner)
    with files_site.client(owner) as client:
        uploaded = client.put(f"{_files(doc)}/pdf", content=PDF).json()
        echoed = {k: v for k, v in uploaded.items() if k in ("title", "pdf", "blob")}
        patched = client.patch(f"/api/documents/{doc['id']}", json=echoed | {"title": "new"})
    assert patched.status_code == 200, patched.text
    assert patched.json()["pdf"] == uploaded["pdf"] and patched.json()["title"] == "new"
    assert len(files_site.objects.wait_for(doc["id"], 1)) == 1


def test_outbox_events_carry_no_key_but_the_keys_to_remove(files_site: FileSite) -> None:
    import asyncio
    import json

    from runtime.database import close_engine, engine_from_url, open_engine
    from runtime.definitions import load_project
    from runtime.schema import build_registry

    owner = files_site.site.a
    doc = files_site.document(owner)
    with files_site.client(owner) as client:
        client.put(f"{_files(doc)}/pdf", content=PDF)
        [key] = files_site.objects.of(doc["id"])
        client.put(f"{_files(doc)}/pdf", content=PDF)

    async def payloads() -> list[dict]:
        env = files_site.site.env
        engine = engine_from_url(env["PLINTH_DATABASE_URL"])
        registry = build_registry(load_project(Path(env["PLINTH_DEFINITIONS"])), engine)
        await open_engine(engine)
        try:
            outbox = registry.outbox
            rows = (
                await outbox.select(outbox.payload)
                .where(outbox.record_id == doc["id"])
                .order_by(outbox.created_at)
                .run()
            )
        finally:
            await close_engine(engine)
        return [json.loads(r["payload"]) if isinstance(r["payload"], str) else r["payload"]
                for r in rows]  # fmt: skip

    created, first, second = asyncio.run(payloads())
    assert "remove_files" not in first and second["remove_files"] == [key]
    assert second["record"]["pdf"]["url"] == f"{_files(doc)}/pdf"
    assert key not in json.dumps([created, first, second["record"], second["old"]])


def test_a_browser_form_with_other_fields_and_a_utf8_name(files_site: FileSite) -> None:
    """The first part with a file name is the file; a browser sends the name as raw UTF-8."""
    owner = files_site.site.a
    doc = files_site.document(owner)
    boundary = "----plinthboundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="note"\r\n\r\nhello\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="résumé.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
        ).encode()
        + PDF
        + f"\r\n--{boundary}--\r\n".encode()
    )
    with files_site.client(owner) as client:
        sent = client.post(
            f"{_files(doc)}/pdf",
            content=body,
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        got = files_site.served(client.get(f"{_files(doc)}/pdf"))
        empty = client.post(
            f"{_files(doc)}/blob",
            content=f'--{boundary}\r\nContent-Disposition: form-data; name="x"\r\n\r\ny\r\n'
            f"--{boundary}--\r\n".encode(),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
    assert sent.status_code == 200, sent.text
    assert sent.json()["pdf"]["name"] == "résumé.pdf" and got.content == PDF
    assert got.headers["content-disposition"] == (
        "attachment; filename=\"resume.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf"
    )
    assert empty.status_code == 400 and "no file part" in empty.json()["detail"]
    assert len(files_site.objects.of(doc["id"])) == 1
