"""One migrated database per test module and kind (SQLite, PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import module_database
from tests.transfer.lab import migrate


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("transfer")
    for url in module_database(request.param, workdir):
        migrate(url, workdir)
        yield url
