"""Semantic checks of one entity: its names, indexes, state machine, admin and display."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from runtime.definitions._wording import a_field, did_you_mean, one_of
from runtime.definitions.catalog import Catalog
from runtime.definitions.checks.fields import check_fields
from runtime.definitions.checks.templates import read_template
from runtime.definitions.errors import Issue
from runtime.definitions.naming import SNAKE_CASE, entity_slug, snake_case_hint
from runtime.definitions.paths import field_ref, resolve_path
from runtime.fields import TYPES


def check_entity(data: dict[str, Any], catalog: Catalog) -> Iterator[Issue]:
    name: str = data["entity"]
    module = data.get("module")
    if module is not None and not SNAKE_CASE.match(module):
        yield Issue(("module",), f"module '{module}' must be snake_case{snake_case_hint(module)}")
    plural = data.get("plural")
    if plural is not None and not SNAKE_CASE.match(entity_slug(name, plural)):
        yield Issue(("plural",), f"plural '{plural}' gives no usable API slug: use plain letters")
    yield from check_fields(data["fields"], catalog)
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
    if "display" in data:
        template = read_template(data["display"])
        if template.problem:
            yield Issue(("display",), f"'display': {template.problem}")
        for path in template.names:
            problem = resolve_path(catalog.tables, name, path, where="display")
            if problem:
                yield Issue(("display",), problem)


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
    choices = list(spec["choices"])

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
    yield from _unreachable(field_name, spec["choices"], states)


def _unreachable(
    field_name: str, choices: list[str] | dict[str, str], states: dict[str, Any]
) -> Iterator[Issue]:
    """A warning at each choice that no chain of transitions leads to from `initial`."""
    edges: dict[str, set[str]] = {}
    for transition in states["transitions"].values():
        sources = transition["from"]
        for source in [sources] if isinstance(sources, str) else sources:
            edges.setdefault(source, set()).add(transition["to"])
    reached, todo = {states["initial"]}, [states["initial"]]
    while todo:
        for target in edges.get(todo.pop(), ()):
            if target not in reached:
                reached.add(target)
                todo.append(target)
    initial = states["initial"]
    if initial not in choices:
        return  # reported above; every state would look unreachable
    for number, state in enumerate(choices):
        if state not in reached:
            is_mapping = isinstance(choices, dict)
            path = ("fields", field_name, "choices", state if is_mapping else number)
            message = (
                f"state '{state}' of '{field_name}' cannot be reached: no transitions lead "
                f"to it from the initial state '{initial}'"
            )
            yield Issue(path, message, at_key=is_mapping, severity="warning")


def _check_admin(entity: str, admin: dict[str, Any], catalog: Catalog) -> Iterator[Issue]:
    for key in ("list", "filters", "search"):
        for number, path in enumerate(admin.get(key, ())):
            problem = resolve_path(catalog.tables, entity, path, where=f"admin {key}")
            if problem:
                yield Issue(("admin", key, number), problem)
            elif key == "search":
                ref = field_ref(catalog.tables, entity, path)
                kind = TYPES.get(ref.type or "") if ref is not None else None
                if kind is not None and not kind.searchable:  # runtime.fields
                    message = (
                        f"field '{path}' in admin search: search only matches text, "
                        f"and this is {a_field(kind.name)}"
                    )
                    yield Issue(("admin", key, number), message, severity="warning")
    order = admin.get("order")
    if order is None:
        return
    if "," in order or " " in order.strip():
        message = f"'admin': 'order' takes one field, like '-created_at', got '{order}'"
        yield Issue(("admin", "order"), message)
        return
    problem = resolve_path(catalog.tables, entity, order.removeprefix("-"), where="admin order")
    if problem:
        yield Issue(("admin", "order"), problem)
