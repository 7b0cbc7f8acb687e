"""Case folding shared by SQL and memory, so `icontains` matches the same rows everywhere.

PostgreSQL's `lower()` maps each character to one (simple case mapping); Python's
`str.lower()` maps `İ` to two. `fold` keeps the first, as PostgreSQL does, and SQLite gets the
same function registered on every connection (`runtime.database`)."""

from __future__ import annotations


def fold(text: str) -> str:
    """'ÉCOLE İstanbul' → 'école istanbul'."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(ch.lower()[0] for ch in text)
