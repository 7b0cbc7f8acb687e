"""The shape of records in answers: `expand` references into objects, keep only `fields`.

fields=id,subject,contact.name&expand=contact
→ {"id": …, "subject": …, "contact": {"name": …}}
"""

from __future__ import annotations

from typing import Any

Tree = dict[str, "Tree"]


def path_tree(paths: list[str]) -> Tree:
    """["contact.company.name", "subject"]
    → {"contact": {"company": {"name": {}}}, "subject": {}}."""
    tree: Tree = {}
    for path in paths:
        node = tree
        for part in path.split("."):
            node = node.setdefault(part, {})
    return tree


def references_in(tree: Tree) -> Tree:
    """The part of a fields tree that goes through references (nodes with children)."""
    return {name: references_in(sub) for name, sub in tree.items() if sub}


def merge(a: Tree, b: Tree) -> Tree:
    out = dict(a)
    for name, sub in b.items():
        out[name] = merge(out.get(name, {}), sub)
    return out


def project(record: dict[str, Any], tree: Tree, keep: tuple[str, ...] = ("id",)) -> dict[str, Any]:
    """Keep the fields of `tree` (and `keep`); expanded references are projected in turn."""
    out: dict[str, Any] = {name: record[name] for name in keep if name in record}
    for name, sub in tree.items():
        if name not in record:
            continue
        value = record[name]
        out[name] = project(value, sub) if sub and isinstance(value, dict) else value
    return out
