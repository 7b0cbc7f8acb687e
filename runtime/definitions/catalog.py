"""The catalog: every definition by kind and name, with naming and uniqueness rules."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from runtime.definitions.errors import Problem
from runtime.definitions.loader import PLATFORM, Document
from runtime.definitions.model import FIELD_TYPES
from runtime.definitions.naming import (
    PASCAL_CASE,
    SNAKE_CASE,
    entity_slug,
    pascal_case_hint,
    snake_case,
    snake_case_hint,
)
from runtime.definitions.paths import BUILTIN_TABLES, SYSTEM_FIELDS, FieldRef
from runtime.definitions.pruning import Checked
from runtime.definitions.reserved import RESERVED_SLUGS

BUILTIN_ROLES = ("owner",)
_RESERVED_ENTITIES = {
    "User": "the built-in user entity",
    "Organization": "the built-in organization entity",
}


@dataclass(slots=True)
class Catalog:
    """Definitions by kind and name (first definition wins), and which passed the schema."""

    entities: dict[str, Document] = field(default_factory=dict)
    roles: dict[str, Document] = field(default_factory=dict)
    workflows: dict[str, Document] = field(default_factory=dict)
    platform: Document | None = None
    checked: dict[int, Checked] = field(default_factory=dict)  # id(doc) → its schema-valid part
    tables: dict[str, dict[str, FieldRef] | None] = field(default_factory=dict)
    entity_names: frozenset[str] = frozenset()  # defined entities plus User and Organization

    def by_kind(self, kind: str) -> dict[str, Document]:
        return {"entity": self.entities, "role": self.roles, "workflow": self.workflows}[kind]

    def checked_part(self, doc: Document) -> Checked | None:
        """The part of `doc` that passed the schema, for semantic checks."""
        return self.checked.get(id(doc))

    def states_of(self, entity: str) -> dict[str, Any] | None:
        """The raw `states:` block of an entity, if it has a well-formed one."""
        doc = self.entities.get(entity)
        states = doc.data.get("states") if doc is not None else None
        if not isinstance(states, dict) or not isinstance(states.get("transitions"), dict):
            return None
        return states


def build_catalog(
    docs: Iterable[Document], checked: dict[int, Checked]
) -> tuple[Catalog, list[Problem]]:
    """Index documents by kind and name; report bad names, reserved names and duplicates."""
    catalog = Catalog(checked=checked)
    problems: list[Problem] = []
    for doc in docs:
        if doc.kind == PLATFORM:
            catalog.platform = doc
            continue
        name = doc.data.get(doc.kind)
        if not isinstance(name, str) or not name:
            continue  # the schema reports it
        loc = doc.loc((doc.kind,))
        message = _name_problem(doc.kind, name)
        if message:
            problems.append(Problem(loc, message))
        known = catalog.by_kind(doc.kind)
        if name in known:
            first = known[name].loc((doc.kind,))
            problems.append(Problem(loc, f"{doc.kind} '{name}' is already defined at {first}"))
            continue
        known[name] = doc
    problems.extend(_collisions(catalog))
    catalog.tables = {**BUILTIN_TABLES, **{n: _field_table(d) for n, d in catalog.entities.items()}}
    catalog.entity_names = frozenset(catalog.tables)
    return catalog, problems


def _name_problem(kind: str, name: str) -> str | None:
    if kind == "entity":
        if name in _RESERVED_ENTITIES:
            return f"entity name '{name}' is reserved for {_RESERVED_ENTITIES[name]}"
        if not PASCAL_CASE.match(name):
            return f"entity name '{name}' must be PascalCase{pascal_case_hint(name)}"
        return None
    if kind == "role" and name in BUILTIN_ROLES:
        return f"role name '{name}' is built in: choose another name"
    if not SNAKE_CASE.match(name):
        return f"{kind} name '{name}' must be snake_case{snake_case_hint(name)}"
    return None


def _collisions(catalog: Catalog) -> Iterable[Problem]:
    """Different entity names that would share a database table or an API slug."""
    seen: dict[tuple[str, str], tuple[str, Document]] = {}
    for name, doc in catalog.entities.items():
        plural = doc.data.get("plural")
        module = doc.data.get("module", "app")
        derived = [
            ("table", f"{module}.{snake_case(name)}", "rename one of them"),
            (
                "API slug",
                entity_slug(name, plural if isinstance(plural, str) else None),
                "rename one of them or set 'plural'",
            ),
        ]
        slug = derived[1][1]
        if slug in RESERVED_SLUGS:
            yield Problem(
                doc.loc(("entity",)),
                f"entity '{name}' would have the API slug '{slug}', which is reserved for "
                f"{RESERVED_SLUGS[slug]}: set 'plural' or rename it",
            )
        for what, value, fix in derived:
            if (what, value) in seen:
                other, other_doc = seen[(what, value)]
                where = other_doc.loc(("entity",))
                yield Problem(
                    doc.loc(("entity",)),
                    f"entity '{name}' would share the {what} '{value}' with entity "
                    f"'{other}' ({where}): {fix}",
                )
            else:
                seen[(what, value)] = (name, doc)


def _field_table(doc: Document) -> dict[str, FieldRef] | None:
    """The fields a path may name on this entity; None when `fields:` is unusable."""
    fields = doc.data.get("fields")
    if not isinstance(fields, dict):
        return None
    table = {name: _field_ref(spec) for name, spec in fields.items()}
    system = dict(SYSTEM_FIELDS)
    if doc.data.get("tenant_scoped") is False:
        del system["tenant_id"]
    return {**table, **system}


def _field_ref(spec: Any) -> FieldRef:
    if not isinstance(spec, dict) or spec.get("type") not in FIELD_TYPES:
        return FieldRef(None)
    kind = spec["type"]
    if kind == "reference":
        to = spec.get("to")
        return FieldRef(kind, to if isinstance(to, str) else None)
    if kind == "enum":
        choices = spec.get("choices")
        if isinstance(choices, list | dict) and all(isinstance(c, str) for c in choices):
            return FieldRef(kind, None, tuple(choices))
    return FieldRef(kind)
