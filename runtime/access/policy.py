"""Role YAML → the Policy of one principal on one entity."""

from __future__ import annotations

from dataclasses import dataclass

from runtime.access.principal import Principal
from runtime.definitions.model import Permission, Project
from runtime.filters import Node, Or

VERBS = ("read", "create", "update", "delete")
Rule = bool | Node  # True: every row of the tenant; False: none; a Node: the rows it matches


@dataclass(frozen=True, slots=True)
class Policy:
    read: Rule
    create: Rule
    update: Rule
    delete: Rule
    read_fields: frozenset[str] | None  # None: every field
    write_fields: frozenset[str] | None
    transitions: frozenset[str]
    actions: frozenset[str] = frozenset()  # manual workflows; {"*"}: every one

    def rule(self, verb: str) -> Rule:
        rule: Rule = getattr(self, verb)
        return rule


ALLOW_ALL = Policy(True, True, True, True, None, None, frozenset({"*"}), frozenset({"*"}))
DENY_ALL = Policy(False, False, False, False, frozenset(), frozenset(), frozenset())


def _roles_with_inherited(project: Project, names: frozenset[str]) -> list[str]:
    seen: list[str] = []
    stack = sorted(names)
    while stack:
        name = stack.pop()
        role = project.roles.get(name)
        if role is None or name in seen:
            continue
        seen.append(name)
        stack.extend(role.inherits)
    return seen


def _union(rules: list[Rule]) -> Rule:
    if any(rule is True for rule in rules):
        return True
    nodes = [rule for rule in rules if not isinstance(rule, bool)]  # parsed with the Model
    if not nodes:
        return False
    return nodes[0] if len(nodes) == 1 else Or(tuple(nodes))


def _union_fields(sets: list[tuple[str, ...] | None]) -> frozenset[str] | None:
    if any(s is None for s in sets):
        return None
    return frozenset(name for s in sets for name in s or ())


def may_do_anything(principal: Principal) -> bool:
    """`owner` and superusers: every verb on every entity, and what belongs to no entity
    (a schedule's runs)."""
    return principal.is_superuser or "owner" in principal.roles


def policy_for(project: Project, principal: Principal, entity: str) -> Policy:
    """Union of the principal's roles (with inherited ones). `owner` and superusers: all."""
    if may_do_anything(principal):
        return ALLOW_ALL
    grants: list[Permission] = []
    for name in _roles_with_inherited(project, principal.roles):
        permission = project.roles[name].permissions.get(entity)
        if permission is not None:
            grants.append(permission)
    if not grants:
        return DENY_ALL
    rules = {verb: _union([getattr(g, verb) for g in grants]) for verb in VERBS}
    # A role's field sets widen the union only for the verbs that role grants: a read-only
    # role's default `write: "*"` must not open every field to a role it is combined with.
    readers = [g.read_fields for g in grants if g.read is not False]
    writers = [g.write_fields for g in grants if g.create is not False or g.update is not False]
    return Policy(
        **rules,
        read_fields=_union_fields(readers),
        write_fields=_union_fields(writers),
        transitions=frozenset(t for g in grants for t in g.transitions),
        actions=frozenset(a for g in grants for a in g.actions),
    )
