"""Semantic checks of workflows: the trigger, the condition and each action."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from runtime.definitions._wording import did_you_mean
from runtime.definitions.catalog import Catalog
from runtime.definitions.errors import Issue
from runtime.definitions.loader import NodePath
from runtime.definitions.model import SYSTEM_COLUMNS
from runtime.definitions.paths import check_filter, check_variable, resolve_path
from runtime.definitions.units import parse_duration

_CRON_FIELD = re.compile(r"^[0-9A-Za-z*/,\-?]+$")


def check_workflow(data: dict[str, Any], catalog: Catalog) -> Iterator[Issue]:
    trigger = data["on"]
    entity = trigger.get("entity")
    if entity is not None and entity not in catalog.entities:
        yield Issue(
            ("on", "entity"),
            f"trigger: no entity named '{entity}'{did_you_mean(entity, catalog.entities)}",
        )
        entity = None
    if trigger["event"] == "transition" and entity is not None:
        yield from _check_trigger_transition(entity, trigger["transition"], catalog)
    if trigger["event"] == "schedule":
        fields = trigger["cron"].split()
        if len(fields) != 5 or not all(_CRON_FIELD.match(f) for f in fields):
            yield Issue(
                ("on", "cron"),
                "trigger: 'cron' must have 5 fields (minute hour day month weekday), "
                f"got '{trigger['cron']}'",
            )
    if "when" in data:
        if trigger["event"] == "schedule":
            yield Issue(
                ("when",), "'when' needs a trigger with a record; a schedule trigger has none"
            )
        elif entity is not None:
            yield from check_filter(
                data["when"], ("when",), tables=catalog.tables, entity=entity, scope="workflow"
            )
    for number, action in enumerate(data["do"]):
        if action is None:
            continue  # cut out by the schema check
        ((kind, args),) = action.items()
        yield from _check_action(
            kind, args, ("do", number, kind), trigger["event"], entity, catalog
        )
    retry = data.get("retry", {})
    if (
        "initial" in retry
        and "max" in retry
        and parse_duration(retry["initial"]) > parse_duration(retry["max"])
    ):
        yield Issue(
            ("retry", "max"),
            f"'retry': 'max' ({retry['max']}) is shorter than 'initial' ({retry['initial']})",
        )


def _check_trigger_transition(entity: str, name: str, catalog: Catalog) -> Iterator[Issue]:
    states = catalog.states_of(entity)
    if states is None:
        yield Issue(
            ("on", "transition"),
            f"trigger: {entity} has no state machine, so no transition '{name}'",
        )
        return
    known = list(states.get("transitions", {}))
    if name not in known:
        yield Issue(
            ("on", "transition"),
            f"trigger: {entity} has no transition '{name}'{did_you_mean(name, known)}",
        )


def _check_action(
    kind: str,
    args: dict[str, Any],
    path: NodePath,
    event: str,
    entity: str | None,
    catalog: Catalog,
) -> Iterator[Issue]:
    owner = f"action {path[1] + 1} ({kind})"  # type: ignore[operator]
    if kind == "update":
        if event in ("schedule", "deleted"):
            yield Issue(path, f"{owner}: a {event} trigger has no record to update")
        elif entity is not None:
            yield from _written_fields(entity, args, path, owner, catalog)
        yield from _variables(args, path, entity, catalog)
    elif kind == "create":
        target = args["entity"]
        if target not in catalog.entities:
            hint = did_you_mean(target, catalog.entities)
            yield Issue((*path, "entity"), f"{owner}: no entity named '{target}'{hint}")
        else:
            yield from _written_fields(target, args["values"], (*path, "values"), owner, catalog)
        yield from _variables(args["values"], (*path, "values"), entity, catalog)
    else:
        yield from _variables(args, path, entity, catalog)


def _written_fields(
    entity: str, values: dict[str, Any], path: NodePath, owner: str, catalog: Catalog
) -> Iterator[Issue]:
    for name in values:
        if name in SYSTEM_COLUMNS:
            yield Issue(
                (*path, name), f"{owner}: system column '{name}' cannot be written", at_key=True
            )
            continue
        problem = (
            resolve_path(catalog.tables, entity, name, where=owner)
            if "." not in name
            else (f"field '{name}' in {owner}: must be a field of {entity}, not a path")
        )
        if problem:
            yield Issue((*path, name), problem, at_key=True)


def _variables(value: Any, path: NodePath, entity: str | None, catalog: Catalog) -> Iterator[Issue]:
    """Every string that is exactly a variable (`$record.id`) must name a real one."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _variables(item, (*path, key), entity, catalog)
    elif isinstance(value, list):
        for number, item in enumerate(value):
            yield from _variables(item, (*path, number), entity, catalog)
    elif isinstance(value, str):
        problem = check_variable(value, tables=catalog.tables, entity=entity, scope="workflow")
        if problem:
            yield Issue(path, problem)
