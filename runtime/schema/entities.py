"""One Piccolo table class per entity of the Model, with the system columns of SPEC §1.1."""

from __future__ import annotations

import enum
import uuid
from decimal import Decimal

from piccolo.columns import (
    JSON,
    JSONB,
    UUID,
    Boolean,
    Column,
    Date,
    DoublePrecision,
    ForeignKey,
    Integer,
    Numeric,
    OnDelete,
    Text,
    Time,
    Timestamptz,
    Varchar,
)
from piccolo.columns.choices import Choice
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.readable import Readable
from piccolo.engine.base import Engine
from piccolo.table import Table, create_table_class

from runtime.database import is_postgres
from runtime.definitions.model import Entity, Field

ON_DELETE = {
    "restrict": OnDelete.restrict,
    "cascade": OnDelete.cascade,
    "set_null": OnDelete.set_null,
}


def _literal_default(field: Field):
    if field.has_default and not str(field.default).startswith("$"):
        return field.default
    return None


def _choices(field: Field) -> type[enum.Enum]:
    """An enum field's choices as Piccolo wants them: an Enum of `Choice(value, label)`."""
    members = {f"c{i}": Choice(value, label) for i, (value, label) in enumerate(field.choices)}
    return enum.Enum(f"{field.name}_choices", members)  # type: ignore[return-value]


def field_column(field: Field, targets: dict[str, type[Table]], engine: Engine) -> Column:
    """The Piccolo column for one field (docs/reference/columns.md has the table). Every
    column is nullable in the database: `required` is enforced by the service, so that adding
    a required field never breaks old rows."""
    default = _literal_default(field)
    # Uniqueness is per organization: a (tenant_id, field) index that `migrate` adds.
    common = {"null": True, "default": default, "index": field.index, "secret": field.hidden}
    match field.type:
        case "string" | "email" | "url" | "enum" | "file":
            length = field.max_length or 255
            if field.type == "enum":  # a CHECK constraint holds the choices
                length = max(255, *(len(v) for v in field.choice_values))
                common["choices"] = _choices(field)  # the admin's form offers them
            return Varchar(length=length, **common)
        case "text":
            return Text(**common)
        case "integer":
            return Integer(**common)
        case "decimal":
            digits = (field.digits or 12, field.places if field.places is not None else 2)
            common["default"] = Decimal(str(default)) if default is not None else None
            return Numeric(digits=digits, **common)
        case "float":
            return DoublePrecision(**common)
        case "boolean":
            return Boolean(**common)
        case "date":
            return Date(**common)
        case "datetime":
            return Timestamptz(**common)
        case "time":
            return Time(**common)
        case "uuid":
            return UUID(**common)
        case "json":
            kind = JSONB if is_postgres(engine) else JSON
            return kind(**{**common, "default": default if default is not None else "null"})
        case "reference":
            return ForeignKey(
                targets.get(field.to or "", "self"),  # absent: the entity itself
                on_delete=ON_DELETE[field.on_delete],
                null=True,
                index=True,
            )
    raise ValueError(f"field {field.name!r}: unknown type {field.type!r}")


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


def _readable_columns(entity: Entity) -> list[str]:
    """Fields named in the `display` template, in order ("{{ subject }}" → ["subject"])."""
    if not entity.display:
        return []
    names = [f.name for f in entity.fields if f.type != "reference"]
    return [
        n for n in names if "{{ " + n + " }}" in entity.display or "{{" + n + "}}" in entity.display
    ]


def build_entity_table(
    entity: Entity, engine: Engine, targets: dict[str, type[Table]]
) -> type[Table]:
    members: dict[str, object] = system_columns(entity)
    for field in entity.fields:
        members[field.name] = field_column(field, targets, engine)
    readable = _readable_columns(entity)

    @classmethod  # type: ignore[misc]
    def get_readable(cls) -> Readable:
        if not readable:
            return Readable(template="%s", columns=[cls.id])
        fmt = " ".join("%s" for _ in readable)
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
