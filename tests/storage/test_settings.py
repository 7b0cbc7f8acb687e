"""PLINTH_STORAGE_URL and PLINTH_S3_ENDPOINT_URL are checked when the settings are read, so a
typo stops start-up with the variable's name; and the Content-Disposition every download
carries is safe whatever the file's name."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.settings import SettingsError, read_settings
from runtime.storage import (
    LocalStorage,
    Location,
    storage_from_url,
    storage_location,
)
from runtime.storage.s3 import S3Storage
from tests.conftest import plinth, plinth_env

BASE = {"PLINTH_DATABASE_URL": "sqlite:///x.db", "PLINTH_SECRET_KEY": "k" * 40}


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://files.example.com", "expected file://PATH or s3://BUCKET"),
        ("media", "expected file://PATH or s3://BUCKET"),
        ("s3://", "an s3:// URL names a bucket"),
        ("s3:///media", "an s3:// URL names a bucket"),
        ("s3://Plinth_Media", "'Plinth_Media' is not an S3 bucket name"),
        ("s3://ab", "'ab' is not an S3 bucket name"),
        ("s3://key:secret@bucket", "credentials in AWS_ACCESS_KEY_ID"),
        ("s3://bucket:9000", "the endpoint goes in PLINTH_S3_ENDPOINT_URL"),
        ("s3://bucket/../up", "'/../up' is not a key prefix"),
        ("s3://bucket?presign=maybe", "presign='maybe', expected on or off"),
        ("s3://bucket?region=eu-west-1", "unknown option 'region'"),
    ],
)
def test_a_malformed_storage_url_stops_start_up(url: str, message: str) -> None:
    with pytest.raises(SettingsError, match="PLINTH_STORAGE_URL=") as refused:
        read_settings({**BASE, "PLINTH_STORAGE_URL": url})
    assert message in str(refused.value)


@pytest.mark.parametrize("command", [("migrate",), ("serve", "--port", "1")])
def test_the_processes_stop_at_start_up_on_a_bad_storage_url(command, tmp_path: Path) -> None:
    env = plinth_env(f"sqlite:///{tmp_path}/x.db", tmp_path, PLINTH_STORAGE_URL="s3://Bad_Name")
    result = plinth(*command, env=env, cwd=tmp_path, check=False)
    assert result.returncode != 0
    assert "PLINTH_STORAGE_URL='s3://Bad_Name'" in result.stderr
    assert not (tmp_path / "x.db").exists()  # stopped before anything was done


@pytest.mark.parametrize("endpoint", ["minio:9000", "ftp://minio", "http://", "s3://bucket"])
def test_a_malformed_endpoint_stops_start_up(endpoint: str) -> None:
    with pytest.raises(SettingsError, match=r"PLINTH_S3_ENDPOINT_URL=.*expected http\(s\)://"):
        read_settings(
            {**BASE, "PLINTH_STORAGE_URL": "s3://b-1", "PLINTH_S3_ENDPOINT_URL": endpoint}
        )


@pytest.mark.parametrize(
    ("url", "location"),
    [
        ("file://./media", Location("file", "./media")),
        ("file:///srv/plinth/media", Location("file", "/srv/plinth/media")),
        ("s3://plinth-media", Location("s3", "plinth-media")),
        ("s3://plinth.media/prod/files/", Location("s3", "plinth.media", "prod/files/")),
        ("s3://plinth-media?presign=off", Location("s3", "plinth-media", presign=False)),
    ],
)
def test_the_storage_urls_that_are_read(url: str, location: Location) -> None:
    settings = read_settings({**BASE, "PLINTH_STORAGE_URL": url})
    assert settings.storage_url == url
    assert storage_location(url) == location


def test_the_default_is_a_media_folder_and_each_scheme_its_backend() -> None:
    settings = read_settings(BASE)
    assert (settings.storage_url, settings.s3_endpoint_url) == ("file://./media", None)
    assert isinstance(storage_from_url(settings.storage_url), LocalStorage)
    s3 = storage_from_url("s3://plinth-media/p", "http://minio:9000")
    assert isinstance(s3, S3Storage)
    assert (s3.bucket, s3.prefix, s3.endpoint_url) == ("plinth-media", "p/", "http://minio:9000")
