"""Value cleaning for a write: which of the given fields the caller may set (its policy view
says), and the typed, validated values of a new row or of an update. No I/O."""

from __future__ import annotations

import datetime as dt
from typing import Any

from runtime.access import PolicyView, Principal
from runtime.fields import file_refs
from runtime.service.errors import FieldError, Forbidden, ValidationFailed
from runtime.service.ids import new_id
from runtime.service.values import Invalid, clean_values, coerce, default_value, to_json


def check_writable(view: PolicyView, names: list[str]) -> None:
    """Refuse the names the caller may not write: every read-only or state field at once
    (422), or the first one outside its write set (403)."""
    errors = []
    for name in names:
        field = view.entity.field(name)
        refusal = view.write_refusal(field) if field else None
        if refusal == "state":
            errors.append(FieldError(name, "state", f"'{name}' changes only through a transition"))
        elif refusal == "read_only":
            errors.append(FieldError(name, "read_only", "this field is read-only"))
        elif refusal == "forbidden":
            raise Forbidden(f"you may not write the field '{name}' of {view.entity.name}")
    if errors:
        raise ValidationFailed(errors)


def new_row(
    view: PolicyView, principal: Principal, values: dict[str, Any], today: dt.date
) -> dict[str, Any]:
    """The whole row a create inserts: clean values, defaults (`$today` is `today`, the
    platform's date), the initial state, stamps."""
    entity = view.entity
    check_writable(view, list(values))
    clean, errors = clean_values(entity, values, is_create=True)
    if errors:
        raise ValidationFailed(errors)
    for field in entity.fields:
        if field.name not in clean and field.has_default:
            clean[field.name] = default_value(field, principal.user_id, today)
    if entity.states:
        clean[entity.states.field] = entity.states.initial
    now = dt.datetime.now(dt.UTC)
    row: dict[str, Any] = {f.name: clean.get(f.name) for f in entity.fields}
    row |= {
        "id": new_id(),
        "created_at": now,
        "updated_at": now,
        "created_by": principal.user_id,
        "updated_by": principal.user_id,
        "version": 1,
    }
    if entity.tenant_scoped:
        row["tenant_id"] = principal.tenant_id
    return row


def update_values(view: PolicyView, old: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """The clean values an update sets on `old`. A whole record sent back (the admin's form,
    a PUT-style client) repeats fields the caller may read but not write: unchanged, they are
    no attempt to write them."""
    echoed = _echoed(view, old, values) | _same_files(view, old, values)
    values = {k: v for k, v in values.items() if k not in echoed}
    check_writable(view, list(values))
    clean, errors = clean_values(view.entity, values, is_create=False)
    if errors:
        raise ValidationFailed(errors)
    return clean


def _echoed(view: PolicyView, old: dict[str, Any], values: dict[str, Any]) -> set[str]:
    """The given fields the caller may read but not write that hold their current value."""
    out = set()
    for name, given in values.items():
        field = view.entity.field(name)
        if field is None or not view.may_read(field):
            continue  # no "unchanged" answer for what the caller cannot see
        if view.write_refusal(field) is None:
            continue
        try:
            value = coerce(field, given)
        except Invalid:
            continue
        if to_json(value) == to_json(old.get(name)):
            out.add(name)
    return out


def _same_files(view: PolicyView, old: dict[str, Any], values: dict[str, Any]) -> set[str]:
    """The given file fields that repeat the file the record has (as a record's JSON shows
    it, or as stored): a record sent back whole does not try to set its files by value."""
    out = set()
    for name, given in values.items():
        field = view.entity.field(name)
        if field is None or field.type != "file" or given is None:
            continue
        current = file_refs.load(old.get(name))
        if current is None:
            continue
        if isinstance(given, dict):
            shown = file_refs.shown(old.get(name), "")
            assert shown is not None
            same = all(given.get(k) == shown[k] for k in ("name", "size", "content_type", "sha256"))
        else:
            same = file_refs.load(given) == current
        if same:
            out.add(name)
    return out
