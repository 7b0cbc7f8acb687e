"""One list of what a path reaches on the platform's tables (`BUILTIN_TABLES`), and it is true:
each name is a column of the real table; `plinth check`, the API's filters and the admin's
joins all read it; and the one path resolver, followed by both sides, agrees."""

from __future__ import annotations

import pytest

from admin.field_guard import PLATFORM_COLUMNS
from runtime.database import engine_from_url
from runtime.definitions.paths import BUILTIN_TABLES, SYSTEM_FIELDS, FieldRef, resolve_path
from runtime.schema.platform import build_platform_tables
from runtime.service.queries import BadQuery
from runtime.service.queries import resolve_path as api_resolve_path
from tests.service.lab import lab_project

PROJECT = lab_project()
SAMPLE = PROJECT.entities["Sample"]  # `owner` is a reference to User
# What `plinth check` follows for Sample: the catalog's tables, here from the Model.
TABLES = {
    **BUILTIN_TABLES,
    "Sample": {f.name: FieldRef(f.type, f.to) for f in SAMPLE.fields} | SYSTEM_FIELDS,
}


def test_every_reachable_platform_field_is_a_column() -> None:
    tables = build_platform_tables(engine_from_url("sqlite:///:memory:"))
    for owner, role in (("User", "user"), ("Organization", "organization")):
        columns = {c._meta.name for c in tables[role]._meta.columns}
        assert set(BUILTIN_TABLES[owner]) <= columns, owner
        assert "password" not in BUILTIN_TABLES[owner]


def test_the_admin_joins_reach_the_same_fields() -> None:
    assert {
        "plinth_user": set(BUILTIN_TABLES["User"]),
        "plinth_organization": set(BUILTIN_TABLES["Organization"]),
    } == PLATFORM_COLUMNS


@pytest.mark.parametrize(
    ("path", "reaches"),
    [
        ("owner.email", True),
        ("owner.id", True),
        ("owner.name", False),  # the platform's user has no name column
        ("owner.password", False),
        ("created_by", True),
        ("created_by.email", False),  # a system column holds an id: it is not a reference
        ("tenant_id.name", False),
    ],
)
def test_check_and_api_agree_on_platform_paths(path: str, reaches: bool) -> None:
    check_ok = resolve_path(TABLES, "Sample", path, where="filter") is None
    try:
        api_resolve_path(PROJECT, SAMPLE, path)
        api_ok = True
    except BadQuery:
        api_ok = False
    assert (check_ok, api_ok) == (reaches, reaches)
