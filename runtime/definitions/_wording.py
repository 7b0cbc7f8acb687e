"""How problems talk about definitions: owners of a path, values, suggestions."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from runtime.suggest import did_you_mean as did_you_mean  # the checks word everything from here

if TYPE_CHECKING:
    from runtime.definitions.nodes import NodePath

# Which part of a definition a path belongs to, longest pattern first. "*" matches any key,
# "#" any list index; the template sees the path items as {0}, {1}, ... and the name as {name}.
_OWNERS: dict[str, list[tuple[tuple[str, ...], str]]] = {
    "entity": [
        (("states", "transitions", "*"), "transition '{2}'"),
        (("fields", "*"), "field '{1}'"),
        (("indexes", "#"), "index {n1}"),
        (("states",), "'states'"),
        (("admin",), "'admin'"),
        ((), "entity '{name}'"),
    ],
    "role": [
        (("permissions", "*"), "permissions on '{1}'"),
        ((), "role '{name}'"),
    ],
    "workflow": [
        (("do", "#", "*"), "action {n1} ({2})"),
        (("do", "#"), "action {n1}"),
        (("on",), "trigger"),
        (("retry",), "'retry'"),
        ((), "workflow '{name}'"),
    ],
    "platform": [
        (("auth", "oidc"), "'auth.oidc'"),
        (("auth",), "'auth'"),
        (("http",), "'http'"),
        ((), "platform.yaml"),
    ],
}


def owner_of(kind: str, name: str, path: NodePath) -> tuple[str, NodePath]:
    """The part of the definition `path` belongs to, and the rest of the path below it.

    >>> owner_of("entity", "Ticket", ("fields", "priority", "min"))
    ("field 'priority'", ('min',))
    """
    for pattern, template in _OWNERS[kind]:
        if len(path) >= len(pattern) and all(
            _matches(p, item) for p, item in zip(pattern, path, strict=False)
        ):
            head = path[: len(pattern)]
            values = {f"n{i}": item + 1 for i, item in enumerate(head) if isinstance(item, int)}
            return template.format(*head, name=name, **values), path[len(pattern) :]
    return f"{kind} '{name}'", path


def _matches(pattern: str, item: str | int) -> bool:
    if pattern == "#":
        return isinstance(item, int)
    if isinstance(item, int):
        return False
    return pattern in ("*", item)


def show_path(rest: NodePath) -> str:
    """`('choices', 1)` → `'choices' item 2`; `('fields', 'read')` → `'fields.read'`."""
    keys: list[str] = []
    suffix = ""
    for item in rest:
        if isinstance(item, int):
            suffix += f" item {item + 1}"
        elif suffix:
            suffix += f" '{item}'"
        else:
            keys.append(item)
    return (f"'{'.'.join(keys)}'" if keys else "") + suffix


def subject(kind: str, name: str, path: NodePath) -> str:
    """Who a message is about: `field 'priority': 'min'`, or `field 'priority'` itself."""
    owner, rest = owner_of(kind, name, path)
    return f"{owner}: {show_path(rest).strip()}" if rest else owner


def container(kind: str, name: str, path: NodePath) -> str:
    """The mapping at `path`, for "unknown key ... in <container>"."""
    owner, rest = owner_of(kind, name, path)
    return f"{show_path(rest).strip()} of {owner}" if rest else owner


def show_value(value: Any) -> str:
    """A YAML-ish rendering of a bad value: 'one', 3, true, null, a list, a mapping."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "nothing (null)"
    if isinstance(value, str):
        return repr(value) if len(value) <= 60 else repr(value[:57] + "...")
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return str(value)


_TYPE_PHRASES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "object": "a mapping",
    "array": "a list",
    "null": "null",
}


def type_phrase(types: str | list[str]) -> str:
    """`["boolean", "object"]` → `true or false, or a mapping`."""
    names = [types] if isinstance(types, str) else list(types)
    phrases = [_TYPE_PHRASES.get(t, t) for t in names]
    return phrases[0] if len(phrases) == 1 else ", or ".join([", ".join(phrases[:-1]), phrases[-1]])


def one_of(values: Iterable[Any]) -> str:
    """`['a', 'b', 'c']` → `a, b or c`."""
    items = [str(v) for v in values]
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


def a_field(kind: str) -> str:
    """`"integer"` → `"an integer field"`; `"string"` → `"a string field"`."""
    return f"{'an' if kind[:1] in 'aeiou' else 'a'} {kind} field"
