"""The Model: frozen, typed definitions that every other package reads.

Only `runtime.definitions` builds these objects (from YAML); everything else treats them as
read-only facts about the project.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from runtime.filters import Node


@dataclass(frozen=True, slots=True)
class Loc:
    """Where a definition node was written: `file` relative to the current directory."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


FIELD_TYPES = (
    "string", "text", "integer", "decimal", "float", "boolean", "date", "datetime", "time",
    "email", "url", "uuid", "enum", "json", "reference", "file",
)  # fmt: skip
SYSTEM_COLUMNS = (
    "id", "tenant_id", "created_at", "updated_at", "created_by", "updated_by", "version",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    type: str
    loc: Loc
    label: str
    required: bool = False
    unique: bool = False
    index: bool = False
    has_default: bool = False
    default: Any = None  # a literal, or "$now" / "$today" / "$user"
    help: str | None = None
    read_only: bool = False
    hidden: bool = False
    min: float | int | None = None
    max: float | int | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    choices: tuple[tuple[str, str], ...] = ()  # (value, label) for enums
    to: str | None = None  # referenced entity name, or "User" / "Organization"
    on_delete: str = "restrict"
    digits: int | None = None
    places: int | None = None
    accept: tuple[str, ...] = ()  # file: accepted media types, e.g. ("application/pdf", "image/*")
    max_size: int | None = None  # file: largest upload in bytes ("10MB" → 10485760)
    renamed_from: str | None = None  # the field's previous name, for migrations

    @property
    def choice_values(self) -> tuple[str, ...]:
        return tuple(value for value, _ in self.choices)


@dataclass(frozen=True, slots=True)
class Transition:
    name: str
    sources: tuple[str, ...]
    target: str
    label: str = ""  # default: from the name ("start" → "Start")


@dataclass(frozen=True, slots=True)
class StateMachine:
    field: str
    initial: str
    transitions: tuple[Transition, ...]


@dataclass(frozen=True, slots=True)
class Index:
    fields: tuple[str, ...]
    unique: bool = False


@dataclass(frozen=True, slots=True)
class AdminOptions:
    list: tuple[str, ...] = ()
    filters: tuple[str, ...] = ()
    search: tuple[str, ...] = ()
    order: str = "-created_at"


@dataclass(frozen=True, slots=True)
class Entity:
    name: str  # PascalCase, e.g. "Ticket"
    loc: Loc
    module: str = "app"
    label: str = ""
    plural: str = ""
    slug: str = ""  # snake_case plural, e.g. "tickets": the API collection
    table: str = ""  # snake_case singular, e.g. "ticket": the database table
    display: str | None = None  # Jinja2 template
    tenant_scoped: bool = True
    timeline: bool = True
    fields: tuple[Field, ...] = ()
    indexes: tuple[Index, ...] = ()
    states: StateMachine | None = None
    admin: AdminOptions = field(default_factory=AdminOptions)
    by_name: dict[str, Field] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {f.name: f for f in self.fields})

    def field(self, name: str) -> Field | None:
        return self.by_name.get(name)


@dataclass(frozen=True, slots=True)
class Permission:
    """One role's rights on one entity. A rule is True, False or a row rule: a filter, parsed
    once when the definitions load."""

    read: bool | Node = False
    create: bool | Node = False
    update: bool | Node = False
    delete: bool | Node = False
    read_fields: tuple[str, ...] | None = None  # None: every field ("*")
    write_fields: tuple[str, ...] | None = None
    transitions: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()  # manual workflows this role may run


@dataclass(frozen=True, slots=True)
class Role:
    name: str
    loc: Loc
    label: str = ""
    inherits: tuple[str, ...] = ()
    permissions: dict[str, Permission] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Trigger:
    event: str  # created | updated | deleted | transition | schedule | manual
    entity: str | None = None
    transition: str | None = None
    cron: str | None = None
    label: str | None = None


@dataclass(frozen=True, slots=True)
class Action:
    kind: str  # update | create | http | email
    args: dict[str, Any]
    loc: Loc


@dataclass(frozen=True, slots=True)
class Retry:
    attempts: int = 1
    backoff: str = "exponential"
    initial_seconds: float = 2.0
    max_seconds: float = 600.0


@dataclass(frozen=True, slots=True)
class Workflow:
    name: str
    loc: Loc
    on: Trigger
    when: Node | None = None  # a filter, parsed once when the definitions load
    actions: tuple[Action, ...] = ()
    retry: Retry = field(default_factory=Retry)
    label: str = ""  # default: from the name; the button text of a manual workflow


@dataclass(frozen=True, slots=True)
class Platform:
    name: str = "Plinth"
    timezone: str = "UTC"
    session_ttl_seconds: int = 8 * 3600
    access_token_ttl_seconds: int = 15 * 60
    oidc: dict[str, Any] | None = None
    http_allow_hosts: tuple[str, ...] = ()

    def today(self) -> dt.date:
        """`$today`: the date in the platform's timezone, whose midnight starts a day."""
        zone = dt.UTC if self.timezone == "UTC" else ZoneInfo(self.timezone)
        return dt.datetime.now(zone).date()


@dataclass(frozen=True, slots=True)
class Project:
    entities: dict[str, Entity] = field(default_factory=dict)
    roles: dict[str, Role] = field(default_factory=dict)
    workflows: dict[str, Workflow] = field(default_factory=dict)
    platform: Platform = field(default_factory=Platform)

    def entity_by_slug(self, slug: str) -> Entity | None:
        return next((e for e in self.entities.values() if e.slug == slug), None)
