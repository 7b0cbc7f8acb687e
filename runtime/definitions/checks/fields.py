"""Semantic checks of an entity's fields: names, references, defaults, options, renames."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from runtime.definitions._wording import did_you_mean
from runtime.definitions.catalog import Catalog
from runtime.definitions.checks.defaults import default_problem
from runtime.definitions.errors import Issue
from runtime.definitions.model import SYSTEM_COLUMNS
from runtime.definitions.naming import SNAKE_CASE, snake_case_hint
from runtime.definitions.reserved import field_name_problem

_MIME = re.compile(r"^[\w.+-]+/(?:[\w.+-]+|\*)$")


def check_fields(fields: dict[str, Any], catalog: Catalog) -> Iterator[Issue]:
    """Every field of one entity (`fields` holds only the fields the schema accepted)."""
    renamed: dict[str, str] = {}
    for name, spec in fields.items():
        yield from _check_field(name, spec, catalog)
        old = spec.get("renamed_from")
        if old is not None:
            yield from _check_rename(name, old, fields, renamed)


def _check_field(name: str, spec: dict[str, Any], catalog: Catalog) -> Iterator[Issue]:
    path = ("fields", name)
    if not SNAKE_CASE.match(name):
        message = f"field name '{name}' must be snake_case{snake_case_hint(name)}"
        yield Issue(path, message, at_key=True)
    else:
        problem = field_name_problem(name)
        if problem:
            yield Issue(path, problem, at_key=True)
    if spec["type"] == "reference":
        yield from _check_reference(name, spec, catalog)
    if "default" in spec:
        problem = default_problem(spec["type"], spec)
        if problem:
            yield Issue((*path, "default"), f"field '{name}': {problem}")
    yield from _bounds(name, spec)
    if "pattern" in spec:
        try:
            re.compile(spec["pattern"])
        except re.error as exc:
            yield Issue(
                (*path, "pattern"),
                f"field '{name}': 'pattern' is not a valid regular expression ({exc.msg})",
            )
    for number, mime in enumerate(spec.get("accept", ())):
        if not _MIME.match(mime):
            yield Issue(
                (*path, "accept", number),
                f"field '{name}': '{mime}' is not a media type like 'application/pdf' or 'image/*'",
            )


def _check_reference(name: str, spec: dict[str, Any], catalog: Catalog) -> Iterator[Issue]:
    path = ("fields", name)
    target = spec["to"]
    if target not in catalog.entity_names:
        hint = did_you_mean(target, sorted(catalog.entity_names))
        yield Issue((*path, "to"), f"field '{name}': no entity named '{target}'{hint}")
    if spec.get("on_delete") == "set_null" and spec.get("required"):
        yield Issue(
            (*path, "on_delete"),
            f"field '{name}': on_delete 'set_null' cannot apply to a required field "
            "(use 'restrict' or 'cascade', or make the field optional)",
        )


def _bounds(name: str, spec: dict[str, Any]) -> Iterator[Issue]:
    for low, high in (("min", "max"), ("min_length", "max_length"), ("places", "digits")):
        if low in spec and high in spec and spec[low] > spec[high]:
            yield Issue(
                ("fields", name, high),
                f"field '{name}': '{high}' ({spec[high]}) is less than '{low}' ({spec[low]})",
            )


def _check_rename(
    name: str, old: str, fields: dict[str, Any], renamed: dict[str, str]
) -> Iterator[Issue]:
    """`renamed_from` names a previous field: snake_case, gone now, claimed by one field."""
    path = ("fields", name, "renamed_from")
    owner = f"field '{name}': 'renamed_from'"
    if not SNAKE_CASE.match(old):
        yield Issue(path, f"{owner} '{old}' must be snake_case{snake_case_hint(old)}")
    elif old == name:
        yield Issue(path, f"{owner} is the field's own name: remove it once the rename is done")
    elif old in fields:
        yield Issue(
            path,
            f"{owner} '{old}' is the name of another current field: "
            "a field can only be renamed from a name that is gone",
        )
    elif old in SYSTEM_COLUMNS:
        yield Issue(path, f"{owner} '{old}' is a system column, not a previous field")
    elif old in renamed:
        yield Issue(path, f"{owner} '{old}': field '{renamed[old]}' is already renamed from it")
    else:
        renamed[old] = name
