"""Piccolo's configuration: the engine named by PLINTH_DATABASE_URL (see runtime/db.py)."""

from runtime.db import DB  # noqa: F401
