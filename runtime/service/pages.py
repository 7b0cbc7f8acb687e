"""Sorts and pages: `?sort=` checked like a filter's paths (a hidden or unreadable field, on
the entity or through a reference, cannot be sorted on), and the sort key values of a page's
last row, which the next page starts after (runtime/filters/keyset.py). The API signs those
values into an opaque cursor (runtime/api/cursors.py); here they are plain JSON values,
checked against their fields' types when they come back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runtime.definitions.model import Entity, Field, Project
from runtime.fields import TYPES
from runtime.filters.keyset import Prefix, SortKey
from runtime.limits import limits
from runtime.service.errors import FieldError
from runtime.service.queries import BadQuery, CanRead, coerce_operand, resolve_path
from runtime.service.values import Invalid, text, to_json

UNSORTABLE = frozenset({"json", "file"})  # no order a cursor could carry
NEVER_NULL = frozenset({"id", "tenant_id", "created_at", "updated_at", "version"})
CARRIED_BYTES, PREFIX_CHARS = 256, 64  # a longer text value travels as a Prefix


@dataclass(frozen=True, slots=True)
class ListQuery:
    """What a list asks for: the readable rows matching `filter` (the filter grammar) and
    `search`, in the order of `sort`, shaped by `fields` and `expand`; up to `limit` of them,
    after the row whose sort key values `after` holds (a page's `following`) or from `offset`
    on (the admin's page numbers). A count reads `filter` and `search` only."""

    filter: Any = None
    search: str | None = None
    sort: list[str] | None = None
    fields: list[str] | None = None
    expand: list[str] | None = None
    limit: int = 50
    after: Any = None
    offset: int = 0


FIRST_PAGE = ListQuery()  # every readable row, in the entity's order, 50 at a time


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[dict[str, Any]]
    # Where the next page starts, as `after` takes it: [the sort's text, the JSON values of
    # the last row's keys]; None on the last page.
    following: list[Any] | None


@dataclass(frozen=True, slots=True)
class Sort:
    """The keys of an order, `id` last (the tie-breaker), with the field each ends on."""

    keys: tuple[SortKey, ...]
    fields: tuple[Field, ...]

    @property
    def text(self) -> str:
        """The order as `?sort=` spells it ("-due_at,subject,id"): what a cursor is for."""
        return ",".join(("-" if k.descending else "") + k.path for k in self.keys)

    def column(self, index: int) -> str:
        """The name a path key's value is selected as (a plain field is in the row)."""
        return f"_k{index}"

    def following(self, row: dict[str, Any]) -> list[Any]:
        """Where the page after `row` starts: the sort, and the JSON values of its keys."""
        out = []
        for i, (key, field) in enumerate(zip(self.keys, self.fields, strict=True)):
            value = row.get(self.column(i) if "." in key.path else key.path)
            if field.type == "boolean" and isinstance(value, int):
                value = bool(value)  # SQLite hands a path's boolean back as 0 or 1
            if isinstance(value, str) and len(value.encode()) > CARRIED_BYTES:
                out.append({"prefix": value[:PREFIX_CHARS]})
                continue
            out.append(to_json(value))
        return [self.text, out]

    def typed(self, after: Any) -> list[Any]:
        """`following` of a page of this sort → the values its keys compare with; 400 naming
        the cursor for one of another sort, or values that do not fit their fields (a
        signed cursor holds such values only if the entity's definition changed)."""
        if not isinstance(after, list) or len(after) != 2 or after[0] != self.text:
            raise _bad("it was given for another sort")
        values = after[1]
        if not isinstance(values, list) or len(values) != len(self.keys):
            raise _bad("it does not fit this sort")
        out = []
        for key, field, value in zip(self.keys, self.fields, values, strict=True):
            if value is None and not key.nullable:
                raise _bad(f"{key.path} cannot be null")
            if isinstance(value, dict) and _is_prefix(field, value):
                out.append(Prefix(value["prefix"]))
                continue
            if isinstance(value, dict | list):
                raise _bad(f"{key.path}: not a value")
            try:
                out.append(coerce_operand(field, "eq", value, "cursor"))
            except BadQuery:
                raise _bad(f"{key.path}: not a value of its type") from None
        return out


def _is_prefix(field: Field, value: dict[str, Any]) -> bool:
    prefix = value.get("prefix")
    kind = TYPES.get(field.type)
    textual = kind is not None and (kind.text_like or field.type == "enum")
    if not textual or len(value) != 1 or not isinstance(prefix, str):
        return False
    try:
        return 0 < len(text(prefix)) <= PREFIX_CHARS  # no NUL, no lone surrogate
    except Invalid:
        return False


def _bad(why: str) -> BadQuery:
    return BadQuery([FieldError("cursor", "cursor", f"cursor: not a cursor of this list ({why})")])


def resolve_sort(
    project: Project, entity: Entity, sort: list[str] | None, can_read: CanRead
) -> Sort:
    """`["-due_at", "contact.name"]` checked, with `id` appended; the entity's `admin.order`
    when `sort` is empty (newest first for a caller who may not sort by it)."""
    if sort:
        return _checked(project, entity, sort, can_read)
    try:
        return _checked(project, entity, [entity.admin.order or "-created_at"], can_read)
    except BadQuery:
        return _checked(project, entity, ["-created_at"], can_read)


def _checked(project: Project, entity: Entity, sort: list[str], can_read: CanRead) -> Sort:
    bound = limits().sort_keys
    if len(sort) > bound:
        message = f"sort by at most {bound} keys, got {len(sort)}"
        raise BadQuery([FieldError("sort", "sort", message)])
    keys: list[SortKey] = []
    fields: list[Field] = []
    for raw in sort:
        path = raw.strip().removeprefix("-")
        field = resolve_path(project, entity, path, can_read)
        if field.type in UNSORTABLE:
            message = f"'{path}' is a {field.type} field: it cannot be sorted on"
            raise BadQuery([FieldError(path, "sort", message)])
        if any(k.path == path for k in keys):
            raise BadQuery([FieldError(path, "sort", f"'{path}' is named twice")])
        keys.append(SortKey(path, raw.strip().startswith("-"), path not in NEVER_NULL))
        fields.append(field)
        if path == "id":
            break  # unique: any key after it would never be compared
    if keys[-1].path != "id":
        keys.append(SortKey("id", False, False))
        fields.append(resolve_path(project, entity, "id"))
    return Sort(tuple(keys), tuple(fields))
