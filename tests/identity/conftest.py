"""A running `plinth serve` with the demo definitions and a platform.yaml of the test's own
(short token lifetimes, an OIDC issuer), per test module and database kind."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import (
    DEFINITIONS,
    Site,
    module_database,
    prepare_site,
    start_server,
    stop,
)


def serve_with_platform(
    kind: str, workdir: Path, platform_yaml: str | None = None, **extra_env: str
) -> Iterator[Site]:
    """Iterate it (it cleans up): a Site whose definitions are the demo's plus
    `platform_yaml` (if any)."""
    definitions = workdir / "definitions"
    shutil.copytree(DEFINITIONS, definitions)
    if platform_yaml is not None:
        (definitions / "platform.yaml").write_text(platform_yaml)
    for database_url in module_database(kind, workdir):
        env = prepare_site(database_url, workdir, PLINTH_DEFINITIONS=str(definitions), **extra_env)
        url, process = start_server(env, workdir)
        try:
            yield Site(url=url, env=env, workdir=workdir)
        finally:
            stop(process)
