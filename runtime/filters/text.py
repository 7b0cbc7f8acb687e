# ruff: noqa: RUF002, RUF003 - the Greek letters are what this module is about
"""Case folding shared by SQL and memory, so `icontains` matches the same rows everywhere.

The fold is the simple (one character to one character) lowercase mapping that PostgreSQL's
`lower()` applies in a UTF-8 database, with the final sigma `ς` folded to `σ` so that `Σ`,
`σ` and `ς` all match each other. Python's `str.lower()` differs in two places: it maps `İ` to
two characters (`i` and a combining dot) and it picks `ς` or `σ` for `Σ` by context; `fold`
keeps PostgreSQL's `i`, and sends both sigmas to `σ`. PostgreSQL gets the same function as
`translate(lower(x), 'ς', 'σ')` (`FOLD_SQL`), SQLite gets `fold` itself, registered on every
connection as `plinth_fold` (`runtime.database`).

PostgreSQL's `lower()` follows the database's LC_CTYPE: with a UTF-8 locale (C.UTF-8,
en_US.UTF-8, …) it maps every character as `fold` does; with the plain C locale it folds
ASCII only."""

from __future__ import annotations

FINAL_SIGMA = str.maketrans("\u03c2", "\u03c3")  # ς → σ
FOLD_SQL = "translate(lower({}), '\u03c2', '\u03c3')"  # the same, in PostgreSQL


def fold(text: str) -> str:
    """'ÉCOLE İstanbul ΟΔΥΣΣΕΥΣ' → 'école istanbul οδυσσευσ'."""
    lowered = text.lower()
    if len(lowered) != len(text):  # İ → i + U+0307: keep the first, as PostgreSQL does
        lowered = "".join(ch.lower()[0] for ch in text)
    return lowered.translate(FINAL_SIGMA)
