"""Piccolo's configuration for `piccolo` run in this folder: the engine named by
PLINTH_DATABASE_URL (see runtime/piccolo_conf.py)."""

from runtime.piccolo_conf import DB  # noqa: F401
