"""The permission matrix of the demo roles, through HTTP.

Every role (the demo's and the built-in `owner`) x entity x verb x row (the caller's own, a
colleague's, another organization's) x caller (session, JWT, API token). The expected outcome
comes from the role YAML itself (roles and what they inherit, unioned) through the small
oracle below, not from runtime/access: a denied read hides the row (404, absent from lists),
a denied write on a readable row answers 403, an allowed one succeeds."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from runtime.filters import evaluate
from tests.conftest import Site
from tests.identity.world import CALLERS, PROJECT, ROLES, World, world_fixture

ENTITIES = sorted(PROJECT.entities)
ROWS = ["own", "colleague", "other_org"]
ROW_VERBS = ["get", "list", "timeline", "update", "delete"]
VERB_RULE = {"get": "read", "list": "read", "timeline": "read", "update": "update"}
UPDATES = {"Ticket": {"subject": "changed"}, "Contact": {"name": "changed"}}


@pytest.fixture(scope="module")
def world(server: Site) -> Iterator[World]:
    yield from world_fixture(server)


@pytest.fixture(scope="module")
def shared_rows(world: World) -> dict[tuple[str, str, str], dict[str, Any]]:
    """(role, entity, row) → a record to read and update (deletes make their own)."""
    rows = {}
    for role in ROLES:
        for entity in ENTITIES:
            for row in ROWS:
                rows[role, entity, row] = world.record(entity, world.row_owner(role, row))
    return rows


# -- the oracle ------------------------------------------------------------------------------


def _with_inherited(role: str) -> list[str]:
    names, stack = [], [role]
    while stack:
        name = stack.pop()
        if name not in names and name in PROJECT.roles:
            names.append(name)
            stack.extend(PROJECT.roles[name].inherits)
    return names


def is_allowed(role: str, entity: str, rule_name: str, creator_is_caller: bool) -> bool:
    """Does the role YAML let `role` do `rule_name` on a row of its organization?"""
    if role == "owner":
        return True
    me, other = "caller-id", "someone-else"
    record = {"created_by": me if creator_is_caller else other}
    for name in _with_inherited(role):
        permission = PROJECT.roles[name].permissions.get(entity)
        rule = getattr(permission, rule_name) if permission else False
        if rule is True:
            return True
        if not isinstance(rule, bool) and evaluate(rule, record, {"$user.id": me}):
            return True
    return False


def expected_status(role: str, entity: str, verb: str, row: str) -> int:
    if row == "other_org":
        return 404
    own = row == "own"
    if not is_allowed(role, entity, "read", own):
        return 404
    if verb in ("get", "list", "timeline"):
        return 200
    if not is_allowed(role, entity, verb, own):
        return 403
    return 204 if verb == "delete" else 200


def test_the_oracle_sees_the_demo_rules() -> None:
    """Guard the oracle itself: the demo roles give every outcome somewhere."""
    outcomes = {
        expected_status(role, entity, verb, row)
        for role in ROLES
        for entity in ENTITIES
        for verb in ROW_VERBS
        for row in ROWS
    }
    assert outcomes == {200, 204, 403, 404}
    assert is_allowed("agent", "Ticket", "update", True)
    assert not is_allowed("agent", "Ticket", "update", False)
    assert is_allowed("agent", "Ticket", "read", False)  # inherited from viewer and its own
    assert not is_allowed("requester", "Ticket", "read", False)


# -- the matrix ------------------------------------------------------------------------------


def _row_cases() -> Iterator[Any]:
    for caller in CALLERS:
        for role in ROLES:
            for entity in ENTITIES:
                for verb in ROW_VERBS:
                    for row in ROWS:
                        yield pytest.param(
                            caller,
                            role,
                            entity,
                            verb,
                            row,
                            id=f"{caller}-{role}-{entity}-{verb}-{row}",
                        )


@pytest.mark.parametrize(("caller", "role", "entity", "verb", "row"), list(_row_cases()))
def test_row_verb(
    world: World,
    shared_rows: dict,
    caller: str,
    role: str,
    entity: str,
    verb: str,
    row: str,
) -> None:
    client = world.client(role, caller)
    slug = PROJECT.entities[entity].slug
    if verb == "delete":
        target = world.record(entity, world.row_owner(role, row))
    else:
        target = shared_rows[role, entity, row]
    path = f"/api/{slug}/{target['id']}"
    expected = expected_status(role, entity, verb, row)
    if verb == "list":
        response = client.get(f"/api/{slug}", params={"id": target["id"]})
        assert response.status_code == 200, response.text
        listed = [r["id"] for r in response.json()["data"]]
        assert listed == ([target["id"]] if expected == 200 else [])
        return
    if verb == "get":
        response = client.get(path)
    elif verb == "timeline":
        response = client.get(f"{path}/timeline")
    elif verb == "update":
        response = client.patch(path, json=UPDATES[entity])
    else:
        response = client.delete(path)
    assert response.status_code == expected, response.text
    if expected in (403, 404):
        assert response.headers["content-type"] == "application/problem+json"
        assert "sample" not in response.text  # nothing of the record leaks
    if expected == 403:
        assert f"{verb} this {entity}" in response.json()["detail"]


@pytest.mark.parametrize("entity", ENTITIES)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("caller", CALLERS)
def test_create(world: World, caller: str, role: str, entity: str) -> None:
    client = world.client(role, caller)
    response = client.post(f"/api/{PROJECT.entities[entity].slug}", json=UPDATES[entity])
    if is_allowed(role, entity, "create", True):
        assert response.status_code == 201, response.text
        assert response.json()["created_by"] == str(world.users[role].user_id)
    else:
        assert response.status_code == 403, response.text
        assert f"create a {entity}" in response.json()["detail"]
