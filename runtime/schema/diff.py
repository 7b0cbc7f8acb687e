"""The change from the applied schema to the definitions' schema, table by table, as steps a
person can read: each marked safe, narrowing or destructive, with the probe that measures
how much data it touches (`impact.py`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from runtime.schema.spec import Column, FieldFacts, Index, Schema, Table

NARROWING = "narrowing"
DESTRUCTIVE = "destructive"
TEXT_TYPES = {"string", "text", "email", "url", "enum"}  # stored as text: lengths matter
WIDER_TYPES = {  # other field types → the types they convert to without loss
    "integer": {"float", "decimal"},
    "reference": {"uuid"},
}


@dataclass(frozen=True)
class Probe:
    """What to count on the live database: `rows` (all), `values` (non-null), `too_long`,
    `too_short`, `outside` (min, max), `not_in` (choices), `nulls`, `digits`
    (digits, places) or `duplicates` (of a column list, per organization)."""

    kind: str
    column: str | None = None  # as named in the database before the migration
    limit: tuple[Any, ...] = ()
    note: str = ""  # what happens to the counted rows: "get the default"


@dataclass(frozen=True)
class Step:
    kind: str
    text: str
    field: str | None = None  # the field (column) as named after the migration
    risk: str | None = None
    probe: Probe | None = None
    fill: object = None  # backfill: the default written into empty values


@dataclass
class TableChange:
    key: str
    old: Table | None  # as applied
    new: Table | None  # as defined
    renames: dict[str, str] = field(default_factory=dict)  # old column name → new
    steps: list[Step] = field(default_factory=list)

    @property
    def label(self) -> str:
        return cast(Table, self.new or self.old).label  # a change has one side at least

    @property
    def before(self) -> Table | None:
        """The applied table with its columns renamed: what the new one is compared with."""
        return self.old.renamed(self.renames) if self.old else None


def diff(old: Schema, new: Schema) -> list[TableChange]:
    """Created and changed tables in the definitions' order, then dropped tables (those that
    refer to others first)."""
    changes = []
    for key, table in new.tables.items():
        before = old.tables.get(key)
        if before is None:
            changes.append(TableChange(key, None, table, steps=[_create(table)]))
        elif before != table and before.ordered() != table.ordered():  # order is no change
            change = _table_change(before, table)
            if change.steps:
                changes.append(change)
    for key in reversed(list(old.tables)):
        if key not in new.tables:
            table = old.tables[key]
            step = Step("drop_table", f"drop table {table.name}", None, DESTRUCTIVE, Probe("rows"))
            changes.append(TableChange(key, table, None, steps=[step]))
    return changes


def _create(table: Table) -> Step:
    fields = [_field_name(c) for c in table.columns if c.field is not None]
    listed = f" with fields {', '.join(fields)}" if fields else ""
    return Step("create_table", f"create table {table.name}{listed}")


def _field_name(column: Column) -> str:
    facts = column.field
    if facts is None or facts.type != "reference":
        return column.name
    return f"{column.name} → {facts.to} ({facts.on_delete})"


def _renames(old: Table, new: Table) -> dict[str, str]:
    renames = {}
    for column in new.columns:
        source = column.renamed_from
        if source and not old.column(column.name) and old.column(source) and not new.column(source):
            renames[source] = column.name
    return renames


def _table_change(old: Table, new: Table) -> TableChange:
    change = TableChange(new.key, old, new, renames=_renames(old, new))
    before = change.before
    assert before is not None
    steps = change.steps
    if (old.schema, old.name) != (new.schema, new.name):
        steps.append(Step("move_table", f"move table {old.qualified} to {new.qualified}"))
    for source, target in change.renames.items():
        steps.append(
            Step("rename_field", f"rename field {source} → {target} (keeps its values)", target)
        )
    for column in before.columns:
        if not new.column(column.name):
            probe = Probe("values", _source(change, column.name))
            steps.append(
                Step("drop_field", f"drop field {column.name}", column.name, DESTRUCTIVE, probe)
            )
    for column in new.columns:
        previous = before.column(column.name)
        if previous is None:
            steps.append(_add_column(new, column))
        elif previous != column:
            steps.extend(_column_steps(change, previous, column))
    steps.extend(_index_steps(change, before, new))
    if not steps and before.ordered() != new.ordered():
        steps.append(Step("alter_table", f"update the definition of table {new.name}"))
    return change


def _source(change: TableChange, name: str) -> str:
    """A column's name in the database before the migration."""
    return next((old for old, new in change.renames.items() if new == name), name)


def describe_field(column: Column) -> str:
    facts = column.field
    if facts is None:
        return column.type
    text = facts.type
    if facts.type in ("string", "email", "url") or (facts.type == "text" and facts.max_length):
        text += f"({facts.max_length})"
    elif facts.type == "decimal":
        text += f"({facts.digits}, {facts.places})"
    elif facts.type == "enum":
        text += f" [{', '.join(facts.choices)}]"
    elif facts.type == "reference":
        text += f" → {facts.to} (on_delete {facts.on_delete})"
    if facts.required:
        text += ", required"
    if facts.default is not None:
        text += f", default {facts.default!r}"
    return text


def _add_column(table: Table, column: Column) -> Step:
    text = f"add field {column.name}: {describe_field(column)}"
    if column.field is None:
        return Step("add_column", f"add column {column.name} {column.type}", column.name)
    if column.field.default is not None:
        return Step("add_field", text, column.name, probe=Probe("rows", note="get the default"))
    if column.field.required:
        return Step("add_field", text, column.name, NARROWING, Probe("rows", note="stay empty"))
    return Step("add_field", text, column.name)


def _column_steps(change: TableChange, old: Column, new: Column) -> list[Step]:
    source = _source(change, new.name)
    if old.field is None or new.field is None:
        return [Step("alter_column", f"alter column {new.name}: {old.type} → {new.type}", new.name)]
    a, b = old.field, new.field
    if a.type != b.type:
        return [_type_step(new.name, source, a, b)]
    steps = [s for s in _bound_steps(new.name, source, a, b) if s is not None]
    if a.required != b.required:
        steps.append(_required_step(new.name, source, b))
    if a.default != b.default:
        steps.append(
            Step(
                "change_default",
                f"change default of {new.name}: {a.default!r} → {b.default!r}",
                new.name,
            )
        )
    if (a.to, a.on_delete) != (b.to, b.on_delete):
        if a.to != b.to:
            steps.append(
                Step(
                    "change_reference",
                    f"change reference {new.name}: {a.to} → {b.to}",
                    new.name,
                    DESTRUCTIVE,
                    Probe("values", source),
                )
            )
        else:
            steps.append(
                Step(
                    "change_reference",
                    f"change on_delete of {new.name}: {a.on_delete} → {b.on_delete}",
                    new.name,
                )
            )
    return steps


def _type_step(name: str, source: str, a: FieldFacts, b: FieldFacts) -> Step:
    text = f"change type of {name}: {a.type} → {b.type}"
    if b.type == "enum" and a.type in TEXT_TYPES:
        return Step("change_type", text, name, NARROWING, Probe("not_in", source, b.choices))
    if a.type in TEXT_TYPES and b.type in TEXT_TYPES:
        if b.max_length is not None and (a.max_length is None or b.max_length < a.max_length):
            return Step(
                "change_type", text, name, NARROWING, Probe("too_long", source, (b.max_length,))
            )
        return Step("change_type", text, name)
    if b.type in WIDER_TYPES.get(a.type, ()):
        return Step("change_type", text, name)
    return Step(
        "change_type", text + " (values are converted)", name, DESTRUCTIVE, Probe("values", source)
    )


def _bound_steps(name: str, source: str, a: FieldFacts, b: FieldFacts) -> list[Step | None]:
    steps: list[Step | None] = []
    if a.max_length != b.max_length:
        text = f"change max_length of {name}: {a.max_length} → {b.max_length}"
        shorter = b.max_length is not None and (a.max_length is None or b.max_length < a.max_length)
        probe = Probe("too_long", source, (b.max_length,)) if shorter else None
        steps.append(Step("change_length", text, name, NARROWING if shorter else None, probe))
    if a.min_length != b.min_length:
        text = f"change min_length of {name}: {a.min_length} → {b.min_length}"
        longer = (b.min_length or 0) > (a.min_length or 0)
        probe = Probe("too_short", source, (b.min_length,)) if longer else None
        steps.append(Step("change_length", text, name, NARROWING if longer else None, probe))
    if (a.min, a.max) != (b.min, b.max):
        text = (
            f"change range of {name}: [{_bound(a.min)}, {_bound(a.max)}] → "
            f"[{_bound(b.min)}, {_bound(b.max)}]"
        )
        tighter = _above(b.min, a.min) or _above(a.max, b.max)
        probe = Probe("outside", source, (b.min, b.max)) if tighter else None
        steps.append(Step("change_range", text, name, NARROWING if tighter else None, probe))
    if a.choices != b.choices:
        steps.append(_choices_step(name, source, a, b))
    if (a.digits, a.places) != (b.digits, b.places):
        text = f"change precision of {name}: ({a.digits}, {a.places}) → ({b.digits}, {b.places})"
        less = (b.digits or 0) - (b.places or 0) < (a.digits or 0) - (a.places or 0) or (
            (b.places or 0) < (a.places or 0)
        )
        probe = Probe("digits", source, (b.digits, b.places)) if less else None
        steps.append(Step("change_precision", text, name, NARROWING if less else None, probe))
    return steps


def _bound(value: float | int | None) -> str:
    return "" if value is None else f"{value:g}"


def _above(value: float | int | None, than: float | int | None) -> bool:
    """`value` is a limit stricter than `than` (None: no limit)."""
    return value is not None and (than is None or value > than)


def _choices_step(name: str, source: str, a: FieldFacts, b: FieldFacts) -> Step:
    added = [c for c in b.choices if c not in a.choices]
    removed = [c for c in a.choices if c not in b.choices]
    parts = [f"+{c}" for c in added] + [f"-{c}" for c in removed]
    text = f"change choices of {name}: {' '.join(parts) or 'new order'}"
    if removed:
        return Step("change_choices", text, name, NARROWING, Probe("not_in", source, b.choices))
    return Step("change_choices", text, name)


def _required_step(name: str, source: str, b: FieldFacts) -> Step:
    if not b.required:
        return Step("change_required", f"field {name} becomes optional", name)
    if b.default is not None:
        return Step(
            "change_required",
            f"field {name} becomes required (empty values get the default {b.default!r})",
            name,
            probe=Probe("nulls", source),
            fill=b.default,
        )
    return Step(
        "change_required", f"field {name} becomes required", name, NARROWING, Probe("nulls", source)
    )


def _index_steps(change: TableChange, before: Table, after: Table) -> list[Step]:
    old = {i.identity: i for i in before.indexes}
    new = {i.identity: i for i in after.indexes}
    steps = []
    for identity, index in old.items():
        if identity not in new:
            steps.append(Step("drop_index", f"drop {_index_text(index)}"))
        elif new[identity].name != index.name:
            steps.append(Step("rename_index", f"rename index {index.name} → {new[identity].name}"))
    for identity, index in new.items():
        if identity in old:
            continue
        if index.unique:
            added = not all(before.column(c) for c in index.columns)
            probe = None if added else _duplicates(change, index)
            steps.append(
                Step(
                    "add_index",
                    f"add {_index_text(index)}",
                    _fields(index),
                    None if added else NARROWING,
                    probe,
                )
            )
        else:
            steps.append(Step("add_index", f"add {_index_text(index)}", _fields(index)))
    return steps


def _fields(index: Index) -> str:
    return ", ".join(c for c in index.columns if c != "tenant_id") or "tenant_id"


def _duplicates(change: TableChange, index: Index) -> Probe:
    return Probe("duplicates", None, tuple(_source(change, c) for c in index.columns))


def _index_text(index: Index) -> str:
    kind = "unique index" if index.unique else "index"
    return f"{kind} {index.name} ({', '.join(index.columns)})"
