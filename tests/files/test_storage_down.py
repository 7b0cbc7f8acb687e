"""A storage that does not answer is the operator's problem, said so: uploads and downloads
answer 503 problem+json with Retry-After (not a 500), and the record is left as it was."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Site, add_tenants, free_port, prepare_site, start_server, stop
from tests.files.conftest import write_definitions


def test_an_unreachable_s3_answers_503(sqlite_url: str, tmp_path: Path) -> None:
    definitions = write_definitions(tmp_path / "definitions")
    env = prepare_site(
        sqlite_url,
        tmp_path,
        PLINTH_DEFINITIONS=str(definitions),
        PLINTH_STORAGE_URL="s3://plinth-media",
        PLINTH_S3_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}",  # nothing listens
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_DEFAULT_REGION="us-east-1",
    )
    url, server = start_server(env, tmp_path)
    try:
        site = add_tenants(sqlite_url, Site(url=url, env=env, workdir=tmp_path))
        with site.client(site.a) as client:
            document = client.post("/api/documents", json={"title": "scan"}).json()
            sent = client.put(
                f"/api/documents/{document['id']}/files/blob",
                content=b"hello",
                headers={"Content-Type": "text/plain"},
            )
            assert sent.status_code == 503, sent.text
            assert sent.headers["content-type"] == "application/problem+json"
            assert sent.headers["retry-after"] == "30"
            assert sent.json()["title"] == "Storage unavailable"
            after = client.get(f"/api/documents/{document['id']}").json()
            assert (after["blob"], after["version"]) == (None, 1)
    finally:
        stop(server)
