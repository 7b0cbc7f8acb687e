"""A database migrated with tests/service/definitions, once per test module and kind."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import module_database
from tests.service.lab import migrate_lab


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def lab_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("lab")
    for url in module_database(request.param, workdir):
        migrate_lab(url, workdir)
        yield url


@pytest.fixture(scope="module")
def lab_pg_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("lab")
    for url in module_database("postgres", workdir):
        migrate_lab(url, workdir)
        yield url
