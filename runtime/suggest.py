"""The one "did you mean" of every message: `plinth check`, the filter grammar and the API.

Dependency-free on purpose, so the lowest module (the filter grammar) can use it too."""

from __future__ import annotations

from collections.abc import Iterable
from difflib import get_close_matches
from typing import Any


def did_you_mean(word: Any, options: Iterable[Any]) -> str:
    """` (did you mean 'max_length'?)`, or "" when nothing is close; a match that differs
    only in case (`Priority` for `priority`) counts as close."""
    candidates = [str(o) for o in options]
    if not isinstance(word, str) or not candidates:
        return ""
    match = get_close_matches(word, candidates, n=1, cutoff=0.6)
    if not match:
        lowered = {c.lower(): c for c in candidates}
        match = get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
        match = [lowered[m] for m in match]
    return f" (did you mean '{match[0]}'?)" if match else ""
