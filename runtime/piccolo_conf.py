"""Piccolo's configuration module (`PICCOLO_CONF=runtime.piccolo_conf`): the process-wide
engine from PLINTH_DATABASE_URL, which Piccolo's migration runner finds by that variable and
the `plinth` commands open and close (runtime/database.py builds engines; this module holds
the one of this process)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runtime.database import engine_from_url
from runtime.settings import get_settings

if TYPE_CHECKING:
    from piccolo.conf.apps import AppRegistry

_settings = get_settings()
DB = engine_from_url(_settings.database_url, pool_size=_settings.pool_size)


def __getattr__(name: str) -> AppRegistry:
    """APP_REGISTRY on first use: `piccolo.conf.apps` imports black, which every `plinth`
    command would otherwise pay for at start-up."""
    if name == "APP_REGISTRY":
        from piccolo.conf.apps import AppRegistry

        return AppRegistry(apps=[])
    raise AttributeError(name)
