"""Name rules and the names derived from them: labels, tables, API slugs."""

from __future__ import annotations

import re
from functools import lru_cache

PASCAL_CASE = re.compile(r"^[A-Z][A-Za-z0-9]*$")
SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


def words(name: str) -> list[str]:
    """`"SupportTicket"` → `["Support", "Ticket"]`; `"due_at"` → `["due", "at"]`."""
    return _WORD.findall(name)


def snake_case(name: str) -> str:
    """`"SupportTicket"` → `"support_ticket"`; `"Support tickets"` → `"support_tickets"`."""
    return "_".join(w.lower() for w in words(name))


def pascal_case(name: str) -> str:
    """`"support_ticket"` → `"SupportTicket"`."""
    return "".join(w[:1].upper() + w[1:] for w in words(name))


@lru_cache(maxsize=4096)  # the same field names recur across entities
def humanize(name: str) -> str:
    """A label from a name: `"SupportTicket"` → `"Support ticket"`, `"due_at"` → `"Due at"`.

    Acronyms keep their case: `"HTTPLog"` → `"HTTP log"`.
    """
    parts = words(name)
    shown = [w if w.isupper() and len(w) > 1 else w.lower() for w in parts]
    text = " ".join(shown)
    return text[:1].upper() + text[1:]


_SIBILANT = ("s", "x", "z", "ch", "sh")


def pluralize(label: str) -> str:
    """The English plural of a label's last word: `"Ticket"` → `"Tickets"`, `"Company"` →
    `"Companies"`, `"Address"` → `"Addresses"`, `"Day"` → `"Days"`."""
    lower = label.lower()
    if lower.endswith("y") and len(lower) > 1 and lower[-2] not in "aeiou":
        return label[:-1] + "ies"
    if lower.endswith(_SIBILANT):
        return label + "es"
    return label + "s"


def entity_slug(name: str, plural: str | None) -> str:
    """The API collection: snake_case plural (`"SupportTicket"` → `"support_tickets"`,
    `"Company"` → `"companies"`).

    From an explicit `plural:` when given (`"People"` → `"people"`), else from the name, so a
    relabelled entity keeps its API address.
    """
    return snake_case(plural) if plural else snake_case(pluralize(name))


def snake_case_hint(name: str) -> str:
    """`"DueAt"` → `", like 'due_at'"`; a plain explanation when no suggestion fits."""
    suggestion = snake_case(name)
    if name.isascii() and SNAKE_CASE.match(suggestion):
        return f", like '{suggestion}'"
    return " (lowercase ASCII letters, digits and single underscores)"


def pascal_case_hint(name: str) -> str:
    """`"support_ticket"` → `", like 'SupportTicket'"`."""
    suggestion = pascal_case(name)
    if name.isascii() and PASCAL_CASE.match(suggestion):
        return f", like '{suggestion}'"
    return " (ASCII letters and digits, starting with a capital)"
