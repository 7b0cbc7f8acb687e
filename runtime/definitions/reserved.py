"""Names definitions may not take, because the system or the libraries already use them."""

from __future__ import annotations

from functools import cache

from runtime.definitions.model import SYSTEM_COLUMNS


@cache
def table_attributes() -> frozenset[str]:
    """Public attributes of Piccolo's Table class, from the installed Piccolo.

    A field becomes an attribute of a generated Table class: a field called `select` or `save`
    would shadow the method the runtime calls. Imported on first use, since importing Piccolo
    is slow and most users of the Model never need it.
    """
    from piccolo.table import Table

    return frozenset(name for name in dir(Table) if not name.startswith("_"))


# API slugs the REST API routes itself under /api (SPEC §2).
RESERVED_SLUGS: dict[str, str] = {"docs": "/api/docs", "imports": "/api/imports/{id}"}


def field_name_problem(name: str) -> str | None:
    """Why `name` cannot be a field name, or None when it is free."""
    if name in SYSTEM_COLUMNS:
        return f"field name '{name}' is reserved for a system column: choose another name"
    if name in table_attributes():
        return (
            f"field name '{name}' would clash with the database table's own '{name}' "
            "(a Piccolo Table attribute): choose another name"
        )
    return None
