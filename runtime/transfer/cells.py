"""A CSV cell ↔ a field's value. JSON lines carry JSON values and need no cell rules; a CSV
cell is text, so the few types whose JSON value is not a string say how they are spelled.
Export writes what import reads back unchanged."""

from __future__ import annotations

import json
from typing import Any

from runtime.definitions.model import Field
from runtime.fields import Invalid, boolean


def from_cell(field: Field | None, cell: str) -> Any:
    """The value a CSV cell gives a field: an empty cell is no value (null)."""
    if cell == "":
        return None
    if field is None:
        return cell
    if field.type == "boolean":
        return boolean(cell)  # true/false, 1/0, yes/no
    if field.type == "json":
        try:
            return json.loads(cell)
        except ValueError:
            raise Invalid("type", f"expected JSON text, got {cell[:40]!r}") from None
    return cell


def to_cell(field: Field | None, value: Any) -> str:
    """A JSON-ready value (as records show it) as the CSV cell `from_cell` reads back: a json
    field's value always as JSON text (a JSON string keeps its quotes)."""
    if value is None:
        return ""
    if field is not None and field.type == "json":
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)
