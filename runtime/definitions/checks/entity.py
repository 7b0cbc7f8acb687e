"""Semantic checks of one entity: field names and options, references, states, admin."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, time
from typing import Any

from runtime.definitions._wording import a_field, did_you_mean, one_of, show_value
from runtime.definitions.catalog import Catalog
from runtime.definitions.errors import Issue
from runtime.definitions.model import SYSTEM_COLUMNS
from runtime.definitions.naming import SNAKE_CASE, entity_slug, snake_case_hint
from runtime.definitions.paths import field_ref, resolve_path

SEARCHABLE_TYPES = ("string", "text", "email", "url", "enum")
_SPECIAL_DEFAULTS = {
    "$now": ("datetime", "date", "time"),
    "$today": ("date",),
    "$user": ("reference",),
}
_LITERAL_DEFAULTS: dict[str, tuple[str, Any]] = {
    "string": ("text", str),
    "text": ("text", str),
    "email": ("text", str),
    "url": ("text", str),
    "uuid": ("text", str),
    "integer": ("an integer", int),
    "float": ("a number", (int, float)),
    "decimal": ("a number", (int, float)),
    "boolean": ("true or false", bool),
}
_ISO_PARSERS = {
    "date": date.fromisoformat,
    "datetime": datetime.fromisoformat,
    "time": time.fromisoformat,
}
_ISO_EXAMPLES = {
    "date": ("'2024-01-31'", "'$today'"),
    "datetime": ("'2024-01-31T09:30:00Z'", "'$now'"),
    "time": ("'09:30'", "'$now'"),
}
_MIME = re.compile(r"^[\w.+-]+/(?:[\w.+-]+|\*)$")
_TEMPLATE_NAME = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(?:\|[^}]*)?\}\}")


def check_entity(data: dict[str, Any], catalog: Catalog) -> Iterator[Issue]:
    name: str = data["entity"]
    module = data.get("module")
    if module is not None and not SNAKE_CASE.match(module):
        yield Issue(("module",), f"module '{module}' must be snake_case{snake_case_hint(module)}")
    plural = data.get("plural")
    if plural is not None and not SNAKE_CASE.match(entity_slug(name, plural)):
        yield Issue(("plural",), f"plural '{plural}' gives no usable API slug: use plain letters")
    for field_name, spec in data["fields"].items():
        yield from _check_field(field_name, spec, catalog)
    for number, index in enumerate(data.get("indexes", ())):
        if index is None:
            continue  # cut out by the schema check
        for position, field_name in enumerate(index["fields"]):
            yield from _plain_field(
                catalog,
                name,
                field_name,
                ("indexes", number, "fields", position),
                f"index {number + 1}",
            )
    if "states" in data:
        yield from _check_states(name, data["states"], data["fields"], catalog)
    yield from _check_admin(name, data.get("admin", {}), catalog)
    for match in _TEMPLATE_NAME.finditer(data.get("display", "")):
        problem = resolve_path(catalog.tables, name, match.group(1), where="display")
        if problem:
            yield Issue(("display",), problem)


def _check_field(name: str, spec: dict[str, Any], catalog: Catalog) -> Iterator[Issue]:
    path = ("fields", name)
    if name in SYSTEM_COLUMNS:
        yield Issue(
            path,
            f"field name '{name}' is reserved for a system column: choose another name",
            at_key=True,
        )
    elif not SNAKE_CASE.match(name):
        yield Issue(
            path,
            f"field name '{name}' must be snake_case{snake_case_hint(name)}",
            at_key=True,
        )
    kind = spec["type"]
    if kind == "reference":
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
    if "default" in spec:
        problem = _default_problem(kind, spec)
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


def _default_problem(kind: str, spec: dict[str, Any]) -> str | None:
    default = spec["default"]
    if default is None:
        return None
    if isinstance(default, str) and default.startswith("$"):
        fits = _SPECIAL_DEFAULTS.get(default)
        if fits is None:
            hint = did_you_mean(default, _SPECIAL_DEFAULTS)
            return f"unknown default '{default}'{hint}: use a literal, $now, $today or $user"
        if kind not in fits:
            return (
                f"default '{default}' does not fit {a_field(kind)} (it fits {one_of(fits)} fields)"
            )
        if default == "$user" and spec.get("to") != "User":
            return "default '$user' needs a reference to User"
        return None
    if kind == "enum":
        values = _choice_values(spec["choices"])
        if default not in values:
            hint = did_you_mean(default, values)
            return f"default {show_value(default)} is not one of the choices {one_of(values)}{hint}"
        return None
    if kind == "reference":
        return "a reference's default can only be '$user'"
    if kind in _ISO_PARSERS:
        try:
            _ISO_PARSERS[kind](default)
        except (TypeError, ValueError):
            example, special = _ISO_EXAMPLES[kind]
            got = show_value(default)
            return f"default must be an ISO {kind} like {example} or {special}, got {got}"
        return None
    expected = _LITERAL_DEFAULTS.get(kind)
    if expected and (
        isinstance(default, bool) != (kind == "boolean") or not isinstance(default, expected[1])
    ):
        return f"default must be {expected[0]}, got {show_value(default)}"
    return None


def _choice_values(choices: list[str] | dict[str, str]) -> list[str]:
    return list(choices)


def _bounds(name: str, spec: dict[str, Any]) -> Iterator[Issue]:
    for low, high in (("min", "max"), ("min_length", "max_length"), ("places", "digits")):
        if low in spec and high in spec and spec[low] > spec[high]:
            yield Issue(
                ("fields", name, high),
                f"field '{name}': '{high}' ({spec[high]}) is less than '{low}' ({spec[low]})",
            )


def _plain_field(
    catalog: Catalog, entity: str, name: str, path: tuple[Any, ...], where: str
) -> Iterator[Issue]:
    if "." in name:
        yield Issue(path, f"field '{name}' in {where}: must be a field of {entity}, not a path")
        return
    problem = resolve_path(catalog.tables, entity, name, where=where)
    if problem:
        yield Issue(path, problem)


def _check_states(
    entity: str, states: dict[str, Any], fields: dict[str, Any], catalog: Catalog
) -> Iterator[Issue]:
    field_name = states["field"]
    spec = fields.get(field_name)
    if spec is None and field_name in (catalog.tables.get(entity) or {}):
        return  # a field the schema check cut out: already reported
    if spec is None:
        hint = did_you_mean(field_name, fields)
        yield Issue(("states", "field"), f"'states': no field '{field_name}' on {entity}{hint}")
        return
    if spec["type"] != "enum":
        yield Issue(
            ("states", "field"),
            f"'states': field '{field_name}' must be an enum field, it is {a_field(spec['type'])}",
        )
        return
    choices = _choice_values(spec["choices"])

    def unknown(state: str, where: str, path: tuple[Any, ...]) -> Iterator[Issue]:
        if state not in choices:
            hint = did_you_mean(state, choices)
            yield Issue(
                path,
                f"{where} '{state}' is not a choice of '{field_name}': {one_of(choices)}{hint}",
            )

    yield from unknown(states["initial"], "'states': initial state", ("states", "initial"))
    for name, transition in states["transitions"].items():
        path = ("states", "transitions", name)
        if not SNAKE_CASE.match(name):
            yield Issue(
                path,
                f"transition name '{name}' must be snake_case{snake_case_hint(name)}",
                at_key=True,
            )
        sources = transition["from"]
        if isinstance(sources, str):
            yield from unknown(sources, f"transition '{name}': 'from' state", (*path, "from"))
        else:
            for number, state in enumerate(sources):
                yield from unknown(
                    state, f"transition '{name}': 'from' state", (*path, "from", number)
                )
        yield from unknown(transition["to"], f"transition '{name}': 'to' state", (*path, "to"))


def _check_admin(entity: str, admin: dict[str, Any], catalog: Catalog) -> Iterator[Issue]:
    for key in ("list", "filters", "search"):
        for number, path in enumerate(admin.get(key, ())):
            problem = resolve_path(catalog.tables, entity, path, where=f"admin {key}")
            if problem:
                yield Issue(("admin", key, number), problem)
            elif key == "search":
                ref = field_ref(catalog.tables, entity, path)
                if ref is not None and ref.type not in SEARCHABLE_TYPES and ref.type is not None:
                    message = (
                        f"field '{path}' in admin search: search only matches text, "
                        f"and this is {a_field(ref.type)}"
                    )
                    yield Issue(("admin", key, number), message, severity="warning")
    for part in admin.get("order", "").split(","):
        path = part.strip().removeprefix("-")
        problem = resolve_path(catalog.tables, entity, path, where="admin order") if path else None
        if problem:
            yield Issue(("admin", "order"), problem)
