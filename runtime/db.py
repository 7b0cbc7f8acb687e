"""The process-wide Piccolo engine (`PICCOLO_CONF=runtime.db`), from PLINTH_DATABASE_URL."""

from piccolo.conf.apps import AppRegistry

from runtime.database import engine_from_url
from runtime.settings import get_settings

DB = engine_from_url(get_settings().database_url)
APP_REGISTRY = AppRegistry(apps=[])
