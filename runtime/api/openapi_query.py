"""The query parameters of a list in the OpenAPI document: the reserved ones (`filter`,
`sort`, ...) and a shorthand filter per field and operator (`status=open`,
`priority__gte=3`), read from the tables the API itself uses: the records route's reserved
names, the filter grammar's operators and each field type's operators."""

from __future__ import annotations

from typing import Any

from runtime.api.openapi_common import parameter
from runtime.api.records import RESERVED_PARAMS
from runtime.definitions.model import Entity
from runtime.definitions.paths import SYSTEM_FIELDS
from runtime.fields import field_type, openapi_schema
from runtime.filters import OPERATORS
from runtime.limits import limits
from runtime.transfer.formats import FORMATS

# Each reserved list parameter, described; tests/test_openapi.py checks that these are the
# names the route reserves, so a new one cannot go undocumented.
RESERVED: dict[str, tuple[dict[str, Any], str]] = {
    "filter": ({"type": "string"}, 'a filter as JSON, e.g. {"status": {"in": ["new", "open"]}}'),
    "search": ({"type": "string"}, "text to look for in the entity's searched fields"),
    "sort": ({"type": "string"}, "fields or paths, `-` for descending: -due_at,contact.name"),
    "limit": ({"type": "integer", "minimum": 1, "maximum": 500}, "rows per page (default 50)"),
    "cursor": ({"type": "string"}, "meta.next_cursor of the previous page"),
    "fields": ({"type": "string"}, "the fields to return, e.g. id,subject,contact.name"),
    "expand": ({"type": "string"}, "references to inline, e.g. contact"),
    "count": ({"enum": ["true", "estimate"]},
              "add meta.count, the rows matching (estimate: the database's estimate, cheap)"),
    "format": ({"enum": list(FORMATS)}, "an export of every matching row instead of a page"),
}  # fmt: skip


def paging() -> list[dict[str, Any]]:
    """`limit` and `cursor`, as every paged list takes them."""
    return [parameter(name, "query", *RESERVED[name]) for name in ("limit", "cursor")]


LIST_VALUED = ("in", "nin", "between")  # a comma-separated list in a shorthand


def _value_schema(schema: dict[str, Any], op: str) -> dict[str, Any]:
    """The schema of a shorthand's value: `schema` is the field's, for eq, ne and the order."""
    if op in LIST_VALUED:
        return {"type": "string", "description": f"comma-separated, at most {limits().in_values}"}
    if op == "isnull":
        return {"type": "boolean"}
    if op in ("contains", "icontains", "startswith", "endswith"):
        return {"type": "string"}
    return {k: v for k, v in schema.items() if k != "maxLength"}  # longer text matches nothing


def _shorthands(name: str, type_name: str, schema: dict[str, Any]) -> list[dict[str, Any]]:
    accepted = field_type(type_name).operators
    found = []
    for op in OPERATORS:
        key = name if op == "eq" else f"{name}__{op}"
        if op in accepted and key not in RESERVED_PARAMS:  # else ?filter= says it
            found.append(parameter(key, "query", _value_schema(schema, op), f"{name} {op} …"))
    return found


def list_parameters(entity: Entity) -> list[dict[str, Any]]:
    """The reserved parameters, then one shorthand per filterable field and operator (a path
    through references, `contact.name=Ann`, is accepted too and not listed)."""
    reserved = [parameter(n, "query", s, d) for n, (s, d) in RESERVED.items()]
    system = [
        p
        for name, ref in SYSTEM_FIELDS.items()
        if ref.type and (name != "tenant_id" or entity.tenant_scoped)
        for p in _shorthands(name, ref.type, field_type(ref.type).openapi)
    ]
    own = [
        p
        for f in entity.fields
        if not f.hidden
        for p in _shorthands(f.name, f.type, openapi_schema(f))
    ]
    return reserved + system + own
