"""Semantic checks of workflows: the trigger, the condition, each action, the retry policy."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast
from urllib.parse import urlsplit

from runtime.definitions._wording import did_you_mean
from runtime.definitions.catalog import Catalog
from runtime.definitions.checks.filters import check_filter, literal_problem
from runtime.definitions.checks.templates import is_template, read_template
from runtime.definitions.errors import Issue
from runtime.definitions.model import SYSTEM_COLUMNS
from runtime.definitions.nodes import NodePath
from runtime.definitions.paths import check_variable, field_ref, resolve_path
from runtime.definitions.units import parse_duration
from runtime.smtp import parse_address

TEMPLATE_NAMES = ("record", "old", "changed", "event")  # what action templates see
EMAIL_ADDRESS_KEYS = ("to", "cc", "bcc", "reply_to")
_CRON_FIELDS = (
    ("minute", "0-59"),
    ("hour", "0-23"),
    ("day", "1-31"),
    ("month", "1-12 or jan-dec"),
    ("weekday", "0-6 or sun-sat"),
)


def check_workflow(data: dict[str, Any], catalog: Catalog) -> Iterator[Issue]:
    trigger = data["on"]
    event = trigger["event"]
    entity = trigger.get("entity")
    if entity is not None and entity not in catalog.entities:
        hint = did_you_mean(entity, catalog.entities)
        yield Issue(("on", "entity"), f"trigger: no entity named '{entity}'{hint}")
        entity = None
    if event == "transition" and entity is not None:
        yield from _check_trigger_transition(entity, trigger["transition"], catalog)
    if event == "schedule":
        problem = cron_problem(trigger["cron"])
        if problem:
            yield Issue(("on", "cron"), f"trigger: {problem}")
    if "when" in data:
        if event == "schedule":
            yield Issue(
                ("when",), "'when' needs a trigger with a record; a schedule trigger has none"
            )
        else:  # with no entity (unknown), only the grammar is checked
            yield from check_filter(
                data["when"], ("when",), tables=catalog.tables, entity=entity, scope="workflow"
            )
    for number, action in enumerate(data["do"]):
        if action is None:
            continue  # cut out by the schema check
        ((kind, args),) = action.items()
        yield from _check_action(kind, args, ("do", number, kind), event, entity, catalog)
    retry = data.get("retry", {})
    initial, longest = retry.get("initial"), retry.get("max")
    too_short = initial is not None and longest is not None
    if too_short and parse_duration(initial) > parse_duration(longest):
        yield Issue(
            ("retry", "max"),
            f"'retry': 'max' ({longest}) is shorter than 'initial' ({initial})",
        )


def cron_problem(expression: str) -> str | None:
    """None when `expression` is a valid 5-field cron expression (checked with croniter)."""
    fields = expression.split()
    if len(fields) != 5:
        return (
            "'cron' must have 5 fields (minute hour day month weekday), "
            f"got {len(fields)} in '{expression}'"
        )
    from croniter import croniter

    if croniter.is_valid(expression):
        return None
    for number, (name, allowed) in enumerate(_CRON_FIELDS):
        alone = ["*"] * 5
        alone[number] = fields[number]
        if not croniter.is_valid(" ".join(alone)):
            return f"'cron' '{expression}': {name} '{fields[number]}' is not valid ({allowed})"
    return f"'cron' '{expression}' is not a valid cron expression"


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
    owner = f"action {cast(int, path[1]) + 1} ({kind})"  # (workflow, index, ...)
    values = _Values(owner, entity, catalog, has_record=event != "schedule")
    if kind == "update":
        if event in ("schedule", "deleted"):
            yield Issue(path, f"{owner}: a {event} trigger has no record to update")
        elif entity is not None:
            yield from _written_fields(entity, args, path, owner, catalog)
        yield from values.check(args, path)
    elif kind == "create":
        target = args["entity"]
        if target not in catalog.entities:
            hint = did_you_mean(target, catalog.entities)
            yield Issue((*path, "entity"), f"{owner}: no entity named '{target}'{hint}")
        else:
            yield from _written_fields(target, args["values"], (*path, "values"), owner, catalog)
            yield from _missing_required(target, args["values"], path, owner, catalog)
        yield from values.check(args["values"], (*path, "values"))
    else:
        if kind == "http":
            yield from _check_http(args, path, owner)
        if kind == "email":
            yield from _check_email(args, path, owner)
        yield from values.check(args, path)


def _check_http(args: dict[str, Any], path: NodePath, owner: str) -> Iterator[Issue]:
    """One body at most, and a URL written out in full must be http(s) with a host."""
    if "json" in args and "body" in args:
        yield Issue((*path, "body"), f"{owner}: give 'json' or 'body', not both", at_key=True)
    url = args["url"]
    if is_template(url) or url.startswith("$"):
        return
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        message = f"{owner}: 'url' must be an http:// or https:// URL with a host, got '{url}'"
        yield Issue((*path, "url"), message)


def _check_email(args: dict[str, Any], path: NodePath, owner: str) -> Iterator[Issue]:
    """A body (text, html or both), and addresses written out that are addresses."""
    if "body" not in args and "html" not in args:
        yield Issue(path, f"{owner}: needs a 'body' (text), an 'html' body or both")
    for key in EMAIL_ADDRESS_KEYS:
        given = args.get(key)
        for number, item in enumerate(given if isinstance(given, list) else [given]):
            if not isinstance(item, str) or item.startswith("$") or is_template(item):
                continue
            try:
                parse_address(item)
            except ValueError as error:
                here = (*path, key, number) if isinstance(given, list) else (*path, key)
                yield Issue(here, f"{owner}: '{key}': {error}")


def _written_fields(
    entity: str, values: dict[str, Any], path: NodePath, owner: str, catalog: Catalog
) -> Iterator[Issue]:
    """Fields an update or create writes: real, writable, and given a fitting literal."""
    states = catalog.states_of(entity)
    for name, value in values.items():
        here = (*path, name)
        if name in SYSTEM_COLUMNS:
            yield Issue(here, f"{owner}: system column '{name}' cannot be written", at_key=True)
            continue
        if "." in name:
            message = f"field '{name}' in {owner}: must be a field of {entity}, not a path"
            yield Issue(here, message, at_key=True)
            continue
        problem = resolve_path(catalog.tables, entity, name, where=owner)
        if problem:
            yield Issue(here, problem, at_key=True)
            continue
        if states is not None and states.get("field") == name:
            message = (
                f"{owner}: '{name}' is the state field of {entity}: it changes only through "
                "a transition"
            )
            yield Issue(here, message, at_key=True)
            continue
        if isinstance(value, str) and (value.startswith("$") or is_template(value)):
            continue
        ref = field_ref(catalog.tables, entity, name)
        problem = literal_problem(ref.type, ref.choices, value) if ref else None
        if problem:
            yield Issue(here, f"field '{name}' in {owner}: {problem}")


def _missing_required(
    entity: str, values: dict[str, Any], path: NodePath, owner: str, catalog: Catalog
) -> Iterator[Issue]:
    """A created record needs every required field that has no default."""
    fields = catalog.entities[entity].data.get("fields")
    states = catalog.states_of(entity)
    state_field = states.get("field") if states is not None else None
    if not isinstance(fields, dict):
        return
    for name, spec in fields.items():
        needed = isinstance(spec, dict) and spec.get("required") is True
        if needed and "default" not in spec and name not in values and name != state_field:
            message = f"{owner}: {entity}'s required field '{name}' has no value and no default"
            yield Issue((*path, "values"), message)


class _Values:
    """Action values: a value that is exactly a variable must exist; other strings are
    templates that must parse and read only what the trigger provides."""

    def __init__(
        self, owner: str, entity: str | None, catalog: Catalog, *, has_record: bool
    ) -> None:
        self.owner, self.entity, self.catalog = owner, entity, catalog
        # a trigger with a record whose entity is unknown: record paths cannot be checked
        self.unknown_record = has_record and entity is None

    def check(self, value: Any, path: NodePath) -> Iterator[Issue]:
        if isinstance(value, dict):
            for key, item in value.items():
                yield from self.check(item, (*path, key))
        elif isinstance(value, list):
            for number, item in enumerate(value):
                yield from self.check(item, (*path, number))
        elif isinstance(value, str):
            if value.startswith("$") and " " not in value:
                if self.unknown_record and value.startswith(("$record.", "$old.")):
                    return
                problem = check_variable(
                    value, tables=self.catalog.tables, entity=self.entity, scope="workflow"
                )
                if problem:
                    yield Issue(path, problem)
            elif is_template(value):
                yield from self._template(value, path)

    def _template(self, text: str, path: NodePath) -> Iterator[Issue]:
        template = read_template(text)
        if template.problem:
            yield Issue(path, f"{self.owner}: {template.problem}")
            return
        for name in template.names:
            head, _, rest = name.partition(".")
            if head not in TEMPLATE_NAMES:
                hint = did_you_mean(head, TEMPLATE_NAMES)
                message = (
                    f"{self.owner}: template reads unknown name '{head}'{hint}; "
                    "templates see record, old, changed and event"
                )
                yield Issue(path, message)
            elif head not in ("record", "old") or self.unknown_record:
                continue
            elif self.entity is None:
                message = f"{self.owner}: template reads '{name}', but this trigger has no record"
                yield Issue(path, message)
            elif rest:
                problem = resolve_path(self.catalog.tables, self.entity, rest, where="template")
                if problem:  # name the path as written: 'record.contact.email'
                    yield Issue(path, problem.replace(f"'{rest}'", f"'{name}'", 1))
