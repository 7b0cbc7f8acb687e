"""Action values: `$path` keeps its type, other strings are Jinja2 templates (sandboxed)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from jinja2.sandbox import ImmutableSandboxedEnvironment

_env = ImmutableSandboxedEnvironment(autoescape=False)
_html_env = ImmutableSandboxedEnvironment(autoescape=True)  # an email's html: values escaped


class Loaded(dict[str, Any]):
    """A referenced record loaded in place of its id: `{{ record.contact.email }}` reads its
    fields, while `{{ record.contact }}` and `$record.contact` still give the id."""

    def __str__(self) -> str:
        return str(self.get("id"))


def _lookup(context: dict[str, Any], path: str) -> Any:
    head, *rest = path.split(".")
    value = context.get(head)
    for part in rest:
        value = value.get(part) if isinstance(value, dict) else None
    return value.get("id") if isinstance(value, Loaded) else value


def render(value: Any, context: dict[str, Any], html: frozenset[str] = frozenset()) -> Any:
    """`"$record.id"` → the id itself; `"Closed: {{ record.subject }}"` → rendered text.
    The templates under the keys named in `html` are HTML: what they insert is escaped
    (`{{ record.subject }}` cannot add markup; `| safe` opts out)."""
    if isinstance(value, dict):
        return {k: _render(v, context, k in html) for k, v in value.items()}
    return _render(value, context, False)


def _render(value: Any, context: dict[str, Any], html: bool) -> Any:
    if isinstance(value, dict):
        return {k: _render(v, context, html) for k, v in value.items()}
    if isinstance(value, list):
        return [_render(v, context, html) for v in value]
    if not isinstance(value, str):
        return value
    if value == "$now":
        return dt.datetime.now(dt.UTC).isoformat()
    if value == "$today":  # the platform's date (RunContext.today)
        return context["today"]
    if value.startswith("$") and " " not in value:
        return _lookup(context, value[1:])
    if "{{" in value or "{%" in value:
        return (_html_env if html else _env).from_string(value).render(**context)
    return value
