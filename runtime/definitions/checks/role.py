"""Semantic checks of roles: entities, row rules, field sets, transitions, inheritance."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from runtime.definitions._wording import did_you_mean
from runtime.definitions.catalog import BUILTIN_ROLES, Catalog
from runtime.definitions.checks.filters import check_filter
from runtime.definitions.errors import Issue, Problem
from runtime.definitions.model import SYSTEM_COLUMNS
from runtime.definitions.paths import resolve_path

RULES = ("read", "create", "update", "delete")


def check_role(doc_data: dict[str, Any], catalog: Catalog) -> Iterator[Issue]:
    name = doc_data["role"]
    known_roles = [*catalog.roles, *BUILTIN_ROLES]
    for number, parent in enumerate(doc_data.get("inherits", ())):
        if parent not in known_roles:
            hint = did_you_mean(parent, known_roles)
            yield Issue(
                ("inherits", number), f"role '{name}' inherits from unknown role '{parent}'{hint}"
            )
    for entity, permission in doc_data.get("permissions", {}).items():
        path = ("permissions", entity)
        if entity not in catalog.entities:
            hint = did_you_mean(entity, catalog.entities)
            yield Issue(path, f"permissions on unknown entity '{entity}'{hint}", at_key=True)
            continue
        yield from _check_permission(entity, permission, catalog)


def _check_permission(entity: str, permission: dict[str, Any], catalog: Catalog) -> Iterator[Issue]:
    base = ("permissions", entity)
    for rule in RULES:
        if isinstance(permission.get(rule), dict):
            yield from check_filter(
                permission[rule], (*base, rule), tables=catalog.tables, entity=entity, scope="role"
            )
    for mode, names in permission.get("fields", {}).items():
        if names == "*":
            continue
        where = f"fields.{mode} of permissions on '{entity}'"
        for number, name in enumerate(names):
            path = (*base, "fields", mode, number)
            if "." in name:
                yield Issue(
                    path, f"field '{name}' in {where}: must be a field of {entity}, not a path"
                )
            elif mode == "write" and name in SYSTEM_COLUMNS:
                yield Issue(path, f"field '{name}' in {where}: system columns cannot be written")
            else:
                problem = resolve_path(catalog.tables, entity, name, where=where)
                if problem:
                    yield Issue(path, problem)
    yield from _check_actions(catalog, entity, permission.get("actions", ()), base)
    transitions = permission.get("transitions", ())
    states = catalog.states_of(entity)
    if transitions and states is None:
        yield Issue(
            (*base, "transitions"),
            f"permissions on '{entity}': {entity} has no state machine, so no transitions",
        )
        return
    known = list(states.get("transitions", {})) if states else []
    for number, transition in enumerate(transitions):
        if transition not in known:
            hint = did_you_mean(transition, known)
            yield Issue(
                (*base, "transitions", number),
                f"permissions on '{entity}': {entity} has no transition '{transition}'{hint}",
            )


def _manual_workflows(catalog: Catalog, entity: str) -> list[str]:
    """The workflows a button on `entity` runs: `on: {event: manual, entity: <entity>}`."""
    names = []
    for name, doc in catalog.workflows.items():
        trigger = doc.data.get("on") if isinstance(doc.data, dict) else None
        if not isinstance(trigger, dict):
            continue
        if trigger.get("event") == "manual" and trigger.get("entity") == entity:
            names.append(name)
    return names


def _check_actions(
    catalog: Catalog, entity: str, actions: Any, base: tuple[Any, ...]
) -> Iterator[Issue]:
    """Each action a role grants names a manual workflow on that entity."""
    known = _manual_workflows(catalog, entity)
    for number, action in enumerate(actions):
        if action not in known:
            hint = did_you_mean(action, known)
            yield Issue(
                (*base, "actions", number),
                f"permissions on '{entity}': no manual workflow '{action}' on {entity}{hint}",
            )


def check_role_cycles(catalog: Catalog) -> Iterator[Problem]:
    """One problem per inheritance cycle, at the `inherits` entry that closes it."""
    done: set[str] = set()
    for start in catalog.roles:
        stack: list[str] = []
        yield from _walk(start, stack, done, catalog)


def _walk(role: str, stack: list[str], done: set[str], catalog: Catalog) -> Iterator[Problem]:
    if role in done or role not in catalog.roles:
        return
    stack.append(role)
    doc = catalog.roles[role]
    parents = doc.data.get("inherits", [])
    for number, parent in enumerate(parents if isinstance(parents, list) else []):
        if parent in stack:
            cycle = " → ".join([*stack[stack.index(parent) :], parent])
            message = (
                f"role '{role}' inherits from itself"
                if parent == role
                else f"roles inherit from each other in a cycle: {cycle}"
            )
            yield Problem(doc.loc(("inherits", number)), message)
        elif isinstance(parent, str):
            yield from _walk(parent, stack, done, catalog)
    stack.pop()
    done.add(role)
