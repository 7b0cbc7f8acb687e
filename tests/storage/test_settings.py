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
    content_disposition,
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


@pytest.mark.parametrize(
    ("filename", "header"),
    [
        ("report.pdf", "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf"),
        (
            "été 2026.pdf",
            "attachment; filename=\"ete 2026.pdf\"; filename*=UTF-8''%C3%A9t%C3%A9%202026.pdf",
        ),
        (
            'a"b\r\nSet-Cookie: x=1.txt',
            'attachment; filename="a_b__Set-Cookie_ x=1.txt"; '
            "filename*=UTF-8''a%22b%0D%0ASet-Cookie%3A%20x%3D1.txt",
        ),
        ("../../etc/passwd", "attachment; filename=\"passwd\"; filename*=UTF-8''passwd"),
        ("C:\\Users\\me\\cv.doc", "attachment; filename=\"cv.doc\"; filename*=UTF-8''cv.doc"),
        ("日本.txt", "attachment; filename=\".txt\"; filename*=UTF-8''%E6%97%A5%E6%9C%AC.txt"),
        ("", "attachment; filename=\"download\"; filename*=UTF-8''download"),
    ],
)
def test_content_disposition_is_safe_for_any_file_name(filename: str, header: str) -> None:
    assert content_disposition(filename) == header
    assert header.isascii() and "\r" not in header and "\n" not in header
