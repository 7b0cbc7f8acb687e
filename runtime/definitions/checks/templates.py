"""Jinja2 templates in definitions (`display`, workflow action values).

A template must parse in Jinja2's sandbox and use only known filters and tests; the names it
reads (`subject`, `record.contact.email`) are returned so the caller can check them against
the entity. Templates made only of `{{ name }}` / `{{ a.b }}` placeholders, the usual case,
are read without Jinja2.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from runtime.definitions._wording import did_you_mean

if TYPE_CHECKING:
    from jinja2 import nodes
    from jinja2.sandbox import ImmutableSandboxedEnvironment

_MARKERS = ("{{", "{%", "{#")
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}\}")


@dataclass(frozen=True, slots=True)
class Template:
    """What a template reads (dotted names), or why it cannot be used."""

    names: tuple[str, ...] = ()
    problem: str | None = None


def is_template(text: str) -> bool:
    return any(marker in text for marker in _MARKERS)


def read_template(text: str) -> Template:
    """The dotted names `text` reads, or the reason it does not parse."""
    if not is_template(text):
        return Template()
    if not is_template(_PLACEHOLDER.sub("", text)):
        return Template(tuple(m.group(1) for m in _PLACEHOLDER.finditer(text)))
    return _parse(text)


@cache
def _environment() -> ImmutableSandboxedEnvironment:
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    return ImmutableSandboxedEnvironment(autoescape=False)


@cache
def _parse(text: str) -> Template:
    from jinja2 import TemplateSyntaxError, nodes

    env = _environment()
    try:
        tree = env.parse(text)
    except TemplateSyntaxError as exc:
        where = f" (template line {exc.lineno})" if "\n" in text.strip() else ""
        return Template(problem=f"template does not parse: {exc.message}{where}")
    for node in tree.find_all((nodes.Filter, nodes.Test)):
        known = env.filters if isinstance(node, nodes.Filter) else env.tests
        if node.name not in known:
            what = "filter" if isinstance(node, nodes.Filter) else "test"
            hint = did_you_mean(node.name, sorted(known))
            return Template(problem=f"template uses unknown {what} '{node.name}'{hint}")
    assigned = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    skipped = assigned | set(env.globals) | {"loop", "self", "super"}
    names = [name for name in _names(tree) if name.split(".")[0] not in skipped]
    return Template(tuple(dict.fromkeys(names)))


def _names(node: nodes.Node) -> Iterator[str]:
    """Dotted names read by `node`: `record.contact.email`, not its method calls."""
    from jinja2 import nodes

    if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Getattr):
        yield from _names(node.node.node)  # `subject.upper()` reads `subject`
        for child in (*node.args, *node.kwargs):
            yield from _names(child)
        return
    chain = _chain(node)
    if chain is not None:
        yield chain
        return
    if isinstance(node, nodes.Getattr | nodes.Getitem):
        yield from _names(node.node)
        if isinstance(node, nodes.Getitem):
            yield from _names(node.arg)
        return
    for child in node.iter_child_nodes():
        yield from _names(child)


def _chain(node: Any) -> str | None:
    """`a.b.c` (or `a['b'].c`) as text when `node` is such a chain on a loaded name."""
    from jinja2 import nodes

    parts: list[str] = []
    while True:
        if isinstance(node, nodes.Getattr):
            parts.append(node.attr)
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            if not isinstance(node.arg.value, str):
                return None
            parts.append(node.arg.value)
        elif isinstance(node, nodes.Name) and node.ctx == "load":
            return ".".join([node.name, *reversed(parts)])
        else:
            return None
        node = node.node
