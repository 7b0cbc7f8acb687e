"""A real S3-compatible server for tests: moto's, as a subprocess on a free port of 127.0.0.1
(a subprocess so that the test process's memory is the client's alone), with one bucket.

Reusable by any test that needs S3 (the API's file fields too):

    with moto_s3() as s3:
        env = {**plinth_env(...), **s3.env}        # PLINTH_STORAGE_URL, endpoint, credentials
        ...
        s3.client().list_objects_v2(Bucket=s3.bucket)
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3

from tests.conftest import free_port, stop

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "plinth-test",
    "AWS_SECRET_ACCESS_KEY": "plinth-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass
class MotoS3:
    endpoint_url: str
    bucket: str
    process: subprocess.Popen[bytes] = field(repr=False)
    _client: Any = field(default=None, repr=False)

    @property
    def storage_url(self) -> str:
        return f"s3://{self.bucket}"

    @property
    def env(self) -> dict[str, str]:
        """What a Plinth process needs to store its files in this bucket."""
        return {
            **CREDENTIALS,
            "PLINTH_STORAGE_URL": self.storage_url,
            "PLINTH_S3_ENDPOINT_URL": self.endpoint_url,
        }

    def client(self) -> Any:
        """A boto3 S3 client on this server, to look behind the storage's back."""
        if self._client is None:
            self._client = self._new_client()
        return self._client

    def _new_client(self) -> Any:
        return boto3.session.Session(
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=CREDENTIALS["AWS_DEFAULT_REGION"],
        ).client("s3", endpoint_url=self.endpoint_url)

    def new_bucket(self) -> str:
        name = f"plinth-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name


def _wait_until_up(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"moto_server exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise AssertionError(f"moto_server did not listen on 127.0.0.1:{port} in {timeout}s")


@contextlib.contextmanager
def moto_s3(bucket: str = "plinth-media", *, authenticate: bool = False) -> Iterator[MotoS3]:
    """A moto S3 server on a free port with `bucket` created; stopped on exit.
    `authenticate`: every request after the bucket's creation must carry credentials that
    moto's IAM knows, which CREDENTIALS are not (access denied)."""
    port = free_port()
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "1"} if authenticate else None
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        _wait_until_up(port, process)
        server = MotoS3(f"http://127.0.0.1:{port}", bucket, process)
        server.client().create_bucket(Bucket=bucket)
        yield server
    finally:
        stop(process)


@contextlib.contextmanager
def environment(values: Mapping[str, str | None]) -> Iterator[None]:
    """os.environ with `values` set (None: unset), as it was afterwards (boto3 in this process
    reads it)."""
    saved = {name: os.environ.get(name) for name in values}
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
