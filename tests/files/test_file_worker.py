"""With Redis, `plinth serve` removes no file itself: a replaced or deleted record's file
stays until `plinth worker` processes the change's event (the relay hands it on although no
workflow watches it), then is removed."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import Site, add_tenants, prepare_site, start_server, stop
from tests.files.conftest import disk_storage, write_definitions


@pytest.mark.redis
@pytest.mark.postgres
def test_plinth_worker_removes_replaced_and_deleted_files(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    storage_env, objects = disk_storage(tmp_path)
    env = prepare_site(
        postgres_url,
        tmp_path,
        PLINTH_REDIS_URL=redis_url,
        PLINTH_DEFINITIONS=str(write_definitions(tmp_path / "definitions")),
        **storage_env,
    )
    url, server = start_server(env, tmp_path)
    try:
        site = add_tenants(postgres_url, Site(url=url, env=env, workdir=tmp_path))
        with site.client(site.a) as client:
            doc = client.post("/api/documents", json={"title": "d"}).json()
            path = f"/api/documents/{doc['id']}/files/blob"
            client.put(path, content=b"first")
            client.put(path, content=b"second")
            gone = client.post("/api/documents", json={"title": "gone"}).json()
            client.put(f"/api/documents/{gone['id']}/files/blob", content=b"x")
            assert client.delete(f"/api/documents/{gone['id']}").status_code == 204
        time.sleep(1)
        assert len(objects.of(doc["id"])) == 2 and len(objects.of(gone["id"])) == 1
        worker = subprocess.Popen(
            [sys.executable, "-m", "runtime.cli", "worker"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            assert len(objects.wait_for(doc["id"], 1, timeout=20)) == 1
            assert objects.wait_for(gone["id"], 0, timeout=20) == []
        finally:
            stop(worker)
        with site.client(site.a) as client:
            assert client.get(path).content == b"second"
    finally:
        stop(server)
