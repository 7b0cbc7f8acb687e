"""Turning checked documents into the Model, with every default filled in."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from runtime.definitions.loader import PLATFORM, Document
from runtime.definitions.model import (
    Action,
    AdminOptions,
    Entity,
    Field,
    Index,
    Permission,
    Platform,
    Project,
    Retry,
    Role,
    StateMachine,
    Transition,
    Trigger,
    Workflow,
)
from runtime.definitions.naming import entity_slug, humanize, pluralize, snake_case
from runtime.definitions.units import parse_duration, parse_size
from runtime.fields import default_max_length
from runtime.filters.ast import Node
from runtime.filters.parse import parse_filter

DEFAULT_MODULE = "app"
_FIELD_OPTIONS = (
    "required",
    "unique",
    "index",
    "help",
    "read_only",
    "hidden",
    "min",
    "max",
    "min_length",
    "max_length",
    "pattern",
    "to",
    "on_delete",
    "digits",
    "places",
    "renamed_from",
)


_RETRY = Retry()
_PLATFORM = Platform()


def build_project(docs: Iterable[Document]) -> Project:
    """The Model of documents that passed every check (first definition of a name wins)."""
    entities: dict[str, Entity] = {}
    roles: dict[str, Role] = {}
    workflows: dict[str, Workflow] = {}
    platform = _PLATFORM
    for doc in docs:
        if doc.kind == PLATFORM:
            platform = build_platform(doc.data)
        elif doc.kind == "entity":
            entities.setdefault(doc.name, build_entity(doc))
        elif doc.kind == "role":
            roles.setdefault(doc.name, build_role(doc))
        else:
            workflows.setdefault(doc.name, build_workflow(doc))
    return Project(entities=entities, roles=roles, workflows=workflows, platform=platform)


def build_entity(doc: Document) -> Entity:
    data = doc.data
    name: str = data["entity"]
    label = data.get("label") or humanize(name)
    plural = data.get("plural")
    states = data.get("states")
    return Entity(
        name=name,
        loc=doc.loc(("entity",)),
        module=data.get("module", DEFAULT_MODULE),
        label=label,
        plural=plural or pluralize(label),
        slug=entity_slug(name, plural),
        table=snake_case(name),
        display=data.get("display"),
        tenant_scoped=data.get("tenant_scoped", True),
        timeline=data.get("timeline", True),
        fields=tuple(_field(doc, n, spec) for n, spec in data["fields"].items()),
        indexes=tuple(
            Index(tuple(i["fields"]), i.get("unique", False)) for i in data.get("indexes", ())
        ),
        states=_states(states) if states else None,
        admin=_admin(data.get("admin", {})),
    )


def _field(doc: Document, name: str, spec: dict[str, Any]) -> Field:
    kind = spec["type"]
    options = {key: spec[key] for key in _FIELD_OPTIONS if key in spec}
    if default_max_length(kind) is not None:  # string, email, url: 255 (runtime.fields)
        options.setdefault("max_length", default_max_length(kind))
    choices = spec.get("choices", ())
    pairs = tuple(choices.items()) if isinstance(choices, dict) else tuple((c, c) for c in choices)
    return Field(
        name=name,
        type=kind,
        loc=doc.key_loc(("fields", name)),
        label=spec.get("label") or humanize(name),
        has_default="default" in spec,
        default=spec.get("default"),
        choices=pairs,
        accept=tuple(spec.get("accept", ())),
        max_size=parse_size(spec["max_size"]) if "max_size" in spec else None,
        **options,
    )


def _states(states: dict[str, Any]) -> StateMachine:
    transitions = tuple(
        Transition(
            name=name,
            sources=(t["from"],) if isinstance(t["from"], str) else tuple(t["from"]),
            target=t["to"],
            label=t.get("label") or humanize(name),
        )
        for name, t in states["transitions"].items()
    )
    return StateMachine(field=states["field"], initial=states["initial"], transitions=transitions)


def _admin(admin: dict[str, Any]) -> AdminOptions:
    return AdminOptions(
        list=tuple(admin.get("list", ())),
        filters=tuple(admin.get("filters", ())),
        search=tuple(admin.get("search", ())),
        order=admin.get("order", AdminOptions().order),
    )


def build_role(doc: Document) -> Role:
    data = doc.data
    name: str = data["role"]
    return Role(
        name=name,
        loc=doc.loc(("role",)),
        label=data.get("label") or humanize(name),
        inherits=tuple(data.get("inherits", ())),
        permissions={e: _permission(e, p) for e, p in data.get("permissions", {}).items()},
    )


def _permission(entity: str, raw: dict[str, Any]) -> Permission:
    fields = raw.get("fields", {})

    def rule(verb: str) -> bool | Node:
        value = raw.get(verb, False)
        if isinstance(value, bool):
            return value
        return parse_filter(value, ("permissions", entity, verb))

    return Permission(
        read=rule("read"),
        create=rule("create"),
        update=rule("update"),
        delete=rule("delete"),
        read_fields=_field_set(fields.get("read", "*")),
        write_fields=_field_set(fields.get("write", "*")),
        transitions=tuple(raw.get("transitions", ())),
        actions=tuple(raw.get("actions", ())),
    )


def _field_set(value: str | list[str]) -> tuple[str, ...] | None:
    """`"*"` → None (every field); a list → a tuple."""
    return None if value == "*" else tuple(value)


def _when(raw: Any) -> Node | None:
    """A workflow's `when`, where a condition may start from a variable (`$changed`)."""
    return None if raw is None else parse_filter(raw, ("when",), left_variables=True)


def build_workflow(doc: Document) -> Workflow:
    data = doc.data
    trigger = data["on"]
    retry = data.get("retry", {})
    return Workflow(
        name=data["workflow"],
        loc=doc.loc(("workflow",)),
        on=Trigger(
            event=trigger["event"],
            entity=trigger.get("entity"),
            transition=trigger.get("transition"),
            cron=trigger.get("cron"),
            label=trigger.get("label"),
        ),
        when=_when(data.get("when")),
        actions=tuple(
            Action(kind, args, doc.loc(("do", number)))
            for number, action in enumerate(data["do"])
            for kind, args in action.items()
        ),
        retry=Retry(
            attempts=retry.get("attempts", _RETRY.attempts),
            backoff=retry.get("backoff", _RETRY.backoff),
            initial_seconds=parse_duration(retry.get("initial", _RETRY.initial_seconds)),
            max_seconds=parse_duration(retry.get("max", _RETRY.max_seconds)),
        ),
        label=data.get("label") or humanize(data["workflow"]),
    )


def build_platform(data: dict[str, Any]) -> Platform:
    auth = data.get("auth", {})
    return Platform(
        name=data.get("name", _PLATFORM.name),
        timezone=data.get("timezone", _PLATFORM.timezone),
        session_ttl_seconds=int(
            parse_duration(auth.get("session_ttl", _PLATFORM.session_ttl_seconds))
        ),
        access_token_ttl_seconds=int(
            parse_duration(auth.get("access_token_ttl", _PLATFORM.access_token_ttl_seconds))
        ),
        oidc=auth.get("oidc"),
        http_allow_hosts=tuple(data.get("http", {}).get("allow_hosts", ())),
    )
