"""One Piccolo table class per entity of the Model, with the system columns of SPEC §1.1."""

from __future__ import annotations

import enum
import re
import uuid
from decimal import Decimal
from typing import Any, TypeAlias

from piccolo.columns import UUID, Column, ForeignKey, Integer, OnDelete, Timestamptz
from piccolo.columns.choices import Choice
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.readable import Readable
from piccolo.engine.base import Engine
from piccolo.table import Table, create_table_class

from runtime.database import is_postgres
from runtime.definitions.model import Entity, Field
from runtime.fields.columns import column_class, column_options

# A table class built from data (piccolo's create_table_class): its columns are attributes
# that no type checker can see, so these classes are typed Any — the one place Piccolo forces it.
DataTable: TypeAlias = Any

ON_DELETE = {
    "restrict": OnDelete.restrict,
    "cascade": OnDelete.cascade,
    "set_null": OnDelete.set_null,
}


def _literal_default(field: Field) -> Any:
    if field.has_default and not str(field.default).startswith("$"):
        return field.default
    return None


def _choices(field: Field) -> type[enum.Enum]:
    """An enum field's choices as Piccolo wants them: an Enum of `Choice(value, label)`."""
    members = {f"c{i}": Choice(value, label) for i, (value, label) in enumerate(field.choices)}
    # mypy reads the functional Enum API with a computed name as making a member, not a class
    return enum.Enum(f"{field.name}_choices", members)  # type: ignore[return-value]


def field_column(field: Field, targets: dict[str, type[Table]], engine: Engine[Any]) -> Column:
    """The Piccolo column for one field: its class and length from runtime.fields (the table
    of docs/reference/columns.md). Every column is nullable in the database: `required` is
    enforced by the service, so that adding a required field never breaks old rows."""
    try:
        kind = column_class(field.type, is_postgres(engine))
    except ValueError:
        raise ValueError(f"field {field.name!r}: unknown type {field.type!r}") from None
    if kind is ForeignKey:
        return ForeignKey(
            targets.get(field.to or "", "self"),  # absent: the entity itself
            on_delete=ON_DELETE[field.on_delete],
            null=True,
            index=True,
            help_text=field.help,
        )
    default = _literal_default(field)
    # Uniqueness is per organization: a (tenant_id, field) index that `migrate` adds.
    common = {"null": True, "default": default, "index": field.index, "secret": field.hidden}
    common["help_text"] = field.help  # the admin's "?" tooltip
    if field.type == "enum":
        common["choices"] = _choices(field)  # the admin's form offers them
    elif field.type == "decimal":
        common["default"] = Decimal(str(default)) if default is not None else None
    elif field.type == "json":
        common["default"] = default if default is not None else "null"
    return kind(**common, **column_options(field))


def system_columns(entity: Entity) -> dict[str, Column]:
    columns: dict[str, Column] = {"id": UUID(primary_key=True, default=uuid.uuid4)}
    if entity.tenant_scoped:
        columns["tenant_id"] = UUID(null=False, default=None, index=True)
    columns |= {
        "created_at": Timestamptz(default=TimestamptzNow()),
        "updated_at": Timestamptz(default=TimestamptzNow()),
        "created_by": UUID(null=True, default=None),
        "updated_by": UUID(null=True, default=None),
        "version": Integer(default=1),
    }
    return columns


def class_name(entity: Entity) -> str:
    """Deterministic: Piccolo's migration differ matches tables by class name."""
    return entity.name


_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_UNSAFE_LITERAL = re.compile(r"[{}%'\\]")  # what FORMAT/PRINTF or Piccolo's SQL string would read


def readable_template(entity: Entity) -> tuple[str, list[str]] | None:
    """The `display` template as a Readable's (format, field names), when it is only plain
    text and `{{ field }}` placeholders of the entity's own non-reference fields
    ("#{{ code }}: {{ subject }}" → ("#%s: %s", ["code", "subject"])); None otherwise."""
    if not entity.display:
        return None
    plain = {f.name for f in entity.fields if f.type != "reference" and not f.hidden}
    parts, names, at = [], [], 0
    for match in _PLACEHOLDER.finditer(entity.display):
        parts.append(entity.display[at : match.start()])
        names.append(match.group(1))
        at = match.end()
    parts.append(entity.display[at:])
    if not names or any(n not in plain for n in names):
        return None
    if any(_UNSAFE_LITERAL.search(p) for p in parts):
        return None
    return "%s".join(parts), names


def _readable_columns(entity: Entity) -> list[str]:
    """Fields named in the `display` template, in order ("{{ subject }}" → ["subject"])."""
    if not entity.display:
        return []
    names = [f.name for f in entity.fields if f.type != "reference"]
    return [
        n for n in names if "{{ " + n + " }}" in entity.display or "{{" + n + "}}" in entity.display
    ]


def build_entity_table(
    entity: Entity, engine: Engine[Any], targets: dict[str, type[Table]]
) -> type[Table]:
    members: dict[str, object] = {**system_columns(entity)}
    for field in entity.fields:
        members[field.name] = field_column(field, targets, engine)
    # The admin's label of a row (references, pickers): the `display` template when a
    # Readable can express it, else the fields it names, space-separated, else the id.
    exact = readable_template(entity)
    fields = _readable_columns(entity)
    fmt, readable = exact or (" ".join("%s" for _ in fields), fields)

    @classmethod  # type: ignore[misc]  # a method made outside its class body
    def get_readable(cls: DataTable) -> Readable:
        if not readable:
            return Readable(template="%s", columns=[cls.id])
        return Readable(template=fmt, columns=[getattr(cls, n) for n in readable])

    members["get_readable"] = get_readable
    return create_table_class(
        class_name(entity),
        bases=(Table,),
        class_kwargs={
            "tablename": entity.table,
            "db": engine,
            **({"schema": entity.module} if is_postgres(engine) else {}),
        },
        class_members=members,
    )
