"""Rows of an import file: CSV (a header row of field names or labels, then one row per
record) or JSON lines (one object per line). Each row becomes the values a write takes, keyed
by field name, with its number as the user sees it (the CSV's row in a spreadsheet, header
being row 1; the line of a JSON lines file), so that errors name the row and the column.

A reference may be given by id or by a unique field of its target: the column `contact.email`
(or a value that is no id, in a `contact` column when the target has one unique field)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from runtime.definitions.model import SYSTEM_COLUMNS, Entity, Project
from runtime.fields import Invalid, as_uuid
from runtime.limits import limits
from runtime.service.import_batch import ByKey, SourceRow
from runtime.transfer.cells import from_cell
from runtime.transfer.formats import FORMATS

IGNORED = frozenset(SYSTEM_COLUMNS) - {"id"}  # an export's stamps: the service sets them


class SourceError(ValueError):
    """The file cannot be read as rows (bad header, not CSV/JSON lines): nothing imported."""


@dataclass(frozen=True, slots=True)
class Column:
    """One column of the file: the field it writes, and the target's unique field when it
    names a reference by that field (`contact.email`)."""

    name: str  # the field (or "id")
    by: str | None = None


def read_rows(
    project: Project, entity: Entity, lines: Iterable[str], fmt: str
) -> Iterator[SourceRow]:
    """The rows of `lines` (a text file's lines) in format `fmt`; SourceError for a file
    that is not one."""
    if fmt not in FORMATS:
        raise SourceError(f"unknown format {fmt!r}: expected one of {', '.join(FORMATS)}")
    rows = (
        _csv_rows(project, entity, lines) if fmt == "csv" else _ndjson_rows(project, entity, lines)
    )
    cap = limits().import_rows
    for count, row in enumerate(rows, 1):
        if count > cap:
            raise SourceError(f"the file has more than {cap} rows (PLINTH_MAX_IMPORT_ROWS)")
        yield row


def _csv_rows(project: Project, entity: Entity, lines: Iterable[str]) -> Iterator[SourceRow]:
    reader = csv.reader(iter(lines))
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as error:
        raise SourceError(f"row 1: {error}") from None
    columns = [column_of(project, entity, name) for name in header]
    number = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise SourceError(f"row {number + 1}: {error}") from None
        number += 1
        if not any(cells):
            continue  # a blank line
        row = SourceRow(number, {})
        if len(cells) > len(columns):
            row.errors.append((None, f"{len(cells)} cells, the header has {len(columns)}"))
        for column, cell in zip(columns, cells, strict=False):
            if column is not None:
                _put(project, entity, row, column, cell, csv_cell=True)
        yield row


def _ndjson_rows(project: Project, entity: Entity, lines: Iterable[str]) -> Iterator[SourceRow]:
    columns: dict[str, Column | None] = {}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        row = SourceRow(number, {})
        try:
            given = json.loads(line)
        except ValueError as error:
            row.errors.append((None, f"not JSON: {error}"))
            yield row
            continue
        if not isinstance(given, dict):
            row.errors.append((None, "expected a JSON object"))
            yield row
            continue
        for key, value in given.items():
            if key not in columns:
                columns[key] = column_of(project, entity, str(key))
            column = columns[key]
            if column is not None:
                _put(project, entity, row, column, value, csv_cell=False)
        yield row


def column_of(project: Project, entity: Entity, heading: str) -> Column | None:
    """The column a heading names (a field's name or label, `id`, `reference.unique_field`);
    None for a system column an export carries; SourceError for anything else."""
    name = heading.strip()
    if name in IGNORED:
        return None
    if name == "id" or entity.field(name) is not None:
        return Column(name)
    by_label = [f for f in entity.fields if f.label.strip().lower() == name.lower()]
    if len(by_label) == 1:
        return Column(by_label[0].name)
    base, _, by = name.partition(".")
    ref = entity.field(base)
    target = project.entities.get(ref.to or "") if ref is not None else None
    if ref is not None and ref.type == "reference" and target is not None and by:
        unique = target.field(by)
        if unique is not None and unique.unique:
            return Column(base, by)
        raise SourceError(f"column {heading!r}: {target.name}.{by} is not a unique field")
    raise SourceError(f"column {heading!r}: {entity.name} has no field or label {name!r}")


def _put(
    project: Project, entity: Entity, row: SourceRow, column: Column, raw: Any, *, csv_cell: bool
) -> None:
    field = entity.field(column.name)
    try:
        value = from_cell(field, raw) if csv_cell and isinstance(raw, str) else raw
    except Invalid as error:
        row.errors.append((column.name, str(error)))
        return
    if value is None and row.values.get(column.name) is not None:
        return  # `contact.email` given, `contact` empty: one value for the field
    if value is not None and field is not None and field.type == "reference":
        value = _reference(project, field.to or "", column.by, value)
    row.values[column.name] = value


def _reference(project: Project, target_name: str, by: str | None, value: Any) -> Any:
    """A reference's value: an id as given, or a ByKey for the importer to resolve."""
    if by is not None:
        return ByKey(by, value)
    if as_uuid(value) is not None:
        return value
    target = project.entities.get(target_name)
    unique = [f.name for f in target.fields if f.unique] if target is not None else []
    return ByKey(unique[0], value) if len(unique) == 1 else value


def text_lines(data: bytes | BinaryIO) -> Iterator[str]:
    """The lines of an uploaded file as text (UTF-8, a BOM dropped), newlines kept for csv."""
    stream: BinaryIO = io.BytesIO(data) if isinstance(data, bytes) else data
    yield from io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
