"""The bounds on what one request may ask of the server, each set by an environment variable
(docs/operators/configuration.md). Checked where input enters, before the work they guard, so
that oversized input is a clear 4xx and never a 500 or a stalled event loop.

Dependency-free on purpose, so the lowest modules (the filter grammar, value cleaning) can
read it too."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import cache


@dataclass(frozen=True, slots=True)
class Limits:
    body_bytes: int = 2 * 1024 * 1024  # a JSON or form body (file uploads have their own)
    json_depth: int = 32  # nested objects/arrays in a JSON body or ?filter=
    number_digits: int = 100  # characters of one JSON number literal
    filter_depth: int = 16  # nested and/or/not in one filter
    filter_nodes: int = 500  # conditions and groups in one filter
    in_values: int = 1000  # values of one in/nin list
    if_match_chars: int = 64  # an If-Match header
    cursor_chars: int = 4096  # a ?cursor= (it carries the sort key values of a row)
    cursor_offset: int = 1_000_000_000  # the offset a workflow-runs cursor may name
    sort_keys: int = 8  # keys of one ?sort=
    errors: int = 50  # errors reported for one payload ("and N more" past it)
    import_bytes: int = 100 * 1024 * 1024  # a file POSTed to /api/<slug>/import
    import_rows: int = 1_000_000  # rows of one import


REQUEST_ID_CHARS = 64  # the timeline's request_id column (runtime/schema/platform.py)
ENV_PREFIX = "PLINTH_MAX_"  # PLINTH_MAX_BODY_BYTES, PLINTH_MAX_JSON_DEPTH, ...


class LimitSettingError(ValueError):
    """A PLINTH_MAX_* variable is not a positive integer; the message names it."""


def read_limits(environ: Mapping[str, str]) -> Limits:
    """The limits `environ` sets, the defaults for the rest."""
    given: dict[str, int] = {}
    for spec in fields(Limits):
        name = ENV_PREFIX + spec.name.upper()
        raw = environ.get(name)
        if raw is None or not raw.strip():
            continue
        if not raw.strip().isdigit() or int(raw) < 1:
            raise LimitSettingError(f"{name}={raw!r}: expected a positive integer")
        given[spec.name] = int(raw)
    return Limits(**given)


@cache
def limits() -> Limits:
    """The process's limits, read once from its environment."""
    return read_limits(os.environ)


def fit_request_id(raw: str) -> str:
    """A request id that fits its column: a long one keeps a readable prefix and ends with a
    hash of the whole, so distinct long ids stay distinct and a write never fails on it."""
    if len(raw) <= REQUEST_ID_CHARS:
        return raw
    digest = hashlib.sha256(raw.encode("utf-8", "replace")).hexdigest()[:16]
    return f"{raw[: REQUEST_ID_CHARS - 17]}~{digest}"
