"""Cutting the schema-invalid parts out of a document, so semantic checks can run on the rest.

A document is cut in units that stand on their own: one field, one index, one permission block,
one action, one top-level key. If a unit the rest depends on is broken (the name, `fields`,
the trigger), nothing is left to check and `prune` answers None.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from runtime.definitions.nodes import NodePath

# kind → (unit patterns, longest first; top-level keys without which nothing can be checked)
_UNITS: dict[str, tuple[tuple[tuple[str, ...], ...], tuple[str, ...]]] = {
    "entity": ((("fields", "*"), ("indexes", "#"), ("*",)), ("entity", "fields")),
    "role": ((("permissions", "*"), ("*",)), ("role",)),
    "workflow": ((("do", "#"), ("*",)), ("workflow", "on", "do")),
    "platform": ((("*",),), ()),
}


@dataclass(frozen=True, slots=True)
class Checked:
    """The schema-valid part of a document. A cut list item is left as None, so the indexes
    (and the "action 3" in messages) still match the file."""

    data: dict[str, Any]


def prune(kind: str, data: dict[str, Any], bad_paths: Iterable[NodePath]) -> Checked | None:
    """`data` without every unit that holds a bad path; None when a vital unit is bad."""
    patterns, vital = _UNITS[kind]
    units: set[NodePath] = set()
    for path in bad_paths:
        unit = _unit_of(path, patterns)
        if unit is None or (len(unit) == 1 and unit[0] in vital):
            return None
        units.add(unit)
    pruned = dict(data)
    for key in {u[0] for u in units if len(u) == 1}:
        pruned.pop(str(key), None)
    for key in {u[0] for u in units if len(u) == 2}:
        value = pruned.get(str(key))
        gone = {u[1] for u in units if len(u) == 2 and u[0] == key}
        if isinstance(value, dict):
            pruned[str(key)] = {k: v for k, v in value.items() if k not in gone}
        elif isinstance(value, list):
            pruned[str(key)] = [None if i in gone else item for i, item in enumerate(value)]
    return Checked(pruned)


def _unit_of(path: NodePath, patterns: tuple[tuple[str, ...], ...]) -> NodePath | None:
    for pattern in patterns:
        if len(path) >= len(pattern) and all(
            (isinstance(item, int) if p == "#" else isinstance(item, str) and p in ("*", item))
            for p, item in zip(pattern, path, strict=False)
        ):
            return path[: len(pattern)]
    return None
