"""Validation of writes, field by field (`runtime.service.values.clean_values`): every type and
option of the lab's Sample — plus min_length and a required field with a default, which
Sample has not — with valid values (and what they become) and invalid ones (field, code,
message); then every error of a payload at once, and JSON values through both databases."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from runtime.access import Principal
from runtime.definitions.model import Field, Loc
from runtime.service import ListQuery, RecordService
from runtime.service.errors import FieldError
from runtime.service.values import clean_values, default_value
from tests.service.lab import add_organization, lab_project, lab_registry, migrate_lab

LOC = Loc("test", 1, 1)
SAMPLE = lab_project().entities["Sample"]
ENTITY = dataclasses.replace(
    SAMPLE,
    fields=(
        *SAMPLE.fields,
        Field("nick", "string", LOC, "Nick", min_length=3, max_length=5),
        Field("priority", "integer", LOC, "Priority", required=True, has_default=True, default=3),
    ),
)
UTC = dt.UTC
TOKEN = uuid.UUID("8c4b5f3e-1d2a-4e6f-9a0b-3c2d1e0f4a5b")
NUL = "text cannot contain the NUL character (\\u0000)"


def ok(value: Any) -> tuple[str, Any]:
    return ("ok", value)


def bad(code: str, message: str) -> tuple[str, str, str]:
    return ("error", code, message)


CASES: list[tuple[str, Any, tuple]] = [
    # string: required, max_length 100
    ("title", "Hello", ok("Hello")),
    ("title", "é" * 100, ok("é" * 100)),
    ("title", "x" * 101, bad("max_length", "at most 100 characters, got 101")),
    ("title", 5, bad("type", "expected a string, got a number")),
    ("title", None, bad("required", "this field is required")),
    ("title", "", bad("required", "this field is required")),
    ("title", "   ", bad("required", "this field is required")),
    ("title", "a\x00b", bad("type", NUL)),
    ("title", "\ud800", bad("type", "text cannot contain a lone surrogate ('\\ud800')")),
    # string options: min_length / max_length
    ("nick", "abc", ok("abc")),
    ("nick", "ab", bad("min_length", "at least 3 characters, got 2")),
    ("nick", "abcdef", bad("max_length", "at most 5 characters, got 6")),
    # text: no length limit, blank allowed when not required
    ("body", "x" * 100_000, ok("x" * 100_000)),
    ("body", "", ok("")),
    ("body", ["a"], bad("type", "expected a string, got a list")),
    # integer: min 0, max 1000, 32 bits
    ("quantity", 0, ok(0)),
    ("quantity", 1000, ok(1000)),
    ("quantity", "42", ok(42)),
    ("quantity", 7.0, ok(7)),
    ("quantity", None, ok(None)),
    ("quantity", -1, bad("min", "must be at least 0, got -1")),
    ("quantity", 1001, bad("max", "must be at most 1000, got 1001")),
    ("quantity", 1.5, bad("type", "expected an integer, got 1.5")),
    ("quantity", "ten", bad("type", "expected an integer, got 'ten'")),
    ("quantity", True, bad("type", "expected an integer, got true/false")),
    (
        "quantity",
        2**31,
        bad("type", "expected an integer from -2147483648 to 2147483647, got 2147483648"),
    ),
    # decimal: digits 10, places 2
    ("amount", "12.34", ok(Decimal("12.34"))),
    ("amount", 12.5, ok(Decimal("12.5"))),
    ("amount", 7, ok(Decimal("7"))),
    ("amount", "99999999.99", ok(Decimal("99999999.99"))),
    ("amount", "-99999999.99", ok(Decimal("-99999999.99"))),
    ("amount", "0.5", ok(Decimal("0.5"))),
    ("amount", "123456789", bad("digits", "at most 8 digits before the point, got 123456789")),
    ("amount", "1E+30", bad("digits", "at most 8 digits before the point, got 1E+30")),
    ("amount", "0.001", bad("places", "at most 2 decimal places, got 0.001")),
    ("amount", "1.500", bad("places", "at most 2 decimal places, got 1.500")),
    ("amount", "abc", bad("type", "expected a decimal number, got 'abc'")),
    ("amount", "NaN", bad("type", "expected a finite number, got 'NaN'")),
    ("amount", "-Infinity", bad("type", "expected a finite number, got '-Infinity'")),
    ("amount", False, bad("type", "expected a decimal number, got true/false")),
    # float: min -1000, max 1000
    ("ratio", 0.5, ok(0.5)),
    ("ratio", "2.5", ok(2.5)),
    ("ratio", -1000, ok(-1000.0)),
    ("ratio", 1000.5, bad("max", "must be at most 1000, got 1000.5")),
    ("ratio", -1e9, bad("min", "must be at least -1000, got -1000000000.0")),
    ("ratio", "nan", bad("type", "expected a finite number, got 'nan'")),
    ("ratio", float("inf"), bad("type", "expected a finite number, got inf")),
    ("ratio", "x", bad("type", "expected a number, got 'x'")),
    # boolean
    ("flag", True, ok(True)),
    ("flag", False, ok(False)),
    ("flag", "true", bad("type", "expected true or false, got 'true'")),
    ("flag", 1, bad("type", "expected true or false, got 1")),
    # date
    ("day", "2024-02-29", ok(dt.date(2024, 2, 29))),
    ("day", dt.date(2024, 1, 1), ok(dt.date(2024, 1, 1))),
    ("day", "2023-02-29", bad("type", "expected a date YYYY-MM-DD, got '2023-02-29'")),
    ("day", "29/02/2024", bad("type", "expected a date YYYY-MM-DD, got '29/02/2024'")),
    ("day", 20240229, bad("type", "expected a date YYYY-MM-DD, got 20240229")),
    (
        "day",
        dt.datetime(2024, 1, 1, 9, tzinfo=UTC),
        bad("type", "expected a date YYYY-MM-DD, got 2024-01-01T09:00:00+00:00"),
    ),
    # datetime: time-zone aware, stored in UTC
    ("at", "2024-03-31T02:30:00+02:00", ok(dt.datetime(2024, 3, 31, 0, 30, tzinfo=UTC))),
    ("at", "2024-03-31T00:30:00Z", ok(dt.datetime(2024, 3, 31, 0, 30, tzinfo=UTC))),
    (
        "at",
        dt.datetime(2024, 1, 1, 5, 45, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=45))),
        ok(dt.datetime(2024, 1, 1, 0, 0, tzinfo=UTC)),
    ),
    (
        "at",
        "2024-03-31T02:30:00",
        bad("timezone", "a date-time needs a time zone (e.g. 'Z' or '+02:00')"),
    ),
    (
        "at",
        dt.datetime(2024, 1, 1),
        bad("timezone", "a date-time needs a time zone (e.g. 'Z' or '+02:00')"),
    ),
    (
        "at",
        "0001-01-01T00:00:00+01:00",
        bad("type", "the date-time 0001-01-01T00:00:00+01:00 is out of range in UTC"),
    ),
    ("at", "soon", bad("type", "expected an ISO 8601 date-time, got 'soon'")),
    ("at", 1700000000, bad("type", "expected an ISO 8601 date-time, got a number")),
    # time: no time zone
    ("clock", "09:30", ok(dt.time(9, 30))),
    ("clock", "23:59:59.999999", ok(dt.time(23, 59, 59, 999999))),
    ("clock", "24:00", bad("type", "expected a time HH:MM[:SS], got '24:00'")),
    ("clock", "09:30+02:00", bad("timezone", "a time has no time zone, got 09:30+02:00")),
    # email: pattern, default max_length 255
    ("mail", "ann@example.com", ok("ann@example.com")),
    ("mail", "Émile@exemple.fr", ok("Émile@exemple.fr")),
    ("mail", "x" * 250 + "@a.bc", ok("x" * 250 + "@a.bc")),
    ("mail", "ann", bad("email", "'ann' is not an email address")),
    ("mail", "a b@c.de", bad("email", "'a b@c.de' is not an email address")),
    ("mail", "x" * 251 + "@a.bc", bad("max_length", "at most 255 characters, got 256")),
    # url: http(s) only
    ("site", "https://example.com/a?b=1", ok("https://example.com/a?b=1")),
    ("site", "http://exemple.fr", ok("http://exemple.fr")),
    ("site", "ftp://example.com", bad("url", "'ftp://example.com' is not an http(s) URL")),
    ("site", "example.com", bad("url", "'example.com' is not an http(s) URL")),
    ("site", "javascript:alert(1)", bad("url", "'javascript:alert(1)' is not an http(s) URL")),
    # uuid
    ("token", str(TOKEN), ok(TOKEN)),
    ("token", str(TOKEN).upper(), ok(TOKEN)),
    ("token", TOKEN, ok(TOKEN)),
    ("token", "1234", bad("type", "expected a UUID, got '1234'")),
    ("token", 42, bad("type", "expected a UUID, got 42")),
    # enum: choices as a mapping (values, not labels) and as a list
    ("kind", "alpha", ok("alpha")),
    ("kind", "Alpha", bad("choice", "'Alpha' is not one of: alpha, beta, gamma")),
    ("kind", "", bad("choice", "'' is not one of: alpha, beta, gamma")),
    ("kind", 1, bad("type", "expected a string, got a number")),
    ("stage", "review", ok("review")),
    ("stage", "archived", bad("choice", "'archived' is not one of: draft, review, done")),
    # json: any JSON value, held as its JSON text (as the database answers it)
    ("data", {"a": [1, 2.5, None, "é"]}, ok('{"a": [1, 2.5, null, "é"]}')),
    ("data", [True, False], ok("[true, false]")),
    ("data", 5, ok("5")),
    ("data", "hello", ok('"hello"')),
    ("data", '{"a": 1}', ok('"{\\"a\\": 1}"')),
    ("data", float("nan"), bad("type", "expected a JSON value, got nan")),
    ("data", {"a": {1, 2}}, bad("type", "expected a JSON value, got {'a': {1, 2}}")),
    ("data", {"a": "\x00"}, bad("type", NUL)),  # PostgreSQL's jsonb cannot hold it
    ("data", ["\ud800"], bad("type", "text cannot contain a lone surrogate ('\\ud800')")),
    # string with pattern (full match) and max_length 20
    ("code", "AB-12", ok("AB-12")),
    ("code", "ab-12", bad("pattern", "does not match the pattern [A-Z]{2}-[0-9]+")),
    ("code", "AB-12x", bad("pattern", "does not match the pattern [A-Z]{2}-[0-9]+")),
    ("code", "AB-" + "1" * 20, bad("max_length", "at most 20 characters, got 23")),
    # references (to an entity, to User): a UUID here; existence is the service's check
    ("contact", str(TOKEN), ok(TOKEN)),
    ("contact", "nope", bad("type", "expected a UUID, got 'nope'")),
    ("owner", str(TOKEN), ok(TOKEN)),
    ("owner", {"id": str(TOKEN)}, bad("type", "expected a UUID, got {'id': '" + str(TOKEN) + "'}")),
    # hidden and read_only fields are values like any other here (the service guards them)
    ("secret", "s3cret", ok("s3cret")),
    ("locked", "fixed", ok("fixed")),
    # a required field with a default may be left out on create (checked below), not nulled
    ("priority", 5, ok(5)),
    ("priority", None, bad("required", "this field is required")),
    # unknown fields, with a suggestion that never names a hidden field
    ("titel", "x", bad("unknown", "Sample has no field 'titel' (did you mean 'title'?)")),
    ("secrett", "x", bad("unknown", "Sample has no field 'secrett'")),
]


def _case_id(case: tuple[str, Any, tuple]) -> str:
    name, raw, expected = case
    return f"{name}={str(raw)[:24]}-{expected[0] if expected[0] == 'ok' else expected[1]}"


@pytest.mark.parametrize(("name", "raw", "expected"), CASES, ids=[_case_id(c) for c in CASES])
def test_one_value(name: str, raw: Any, expected: tuple) -> None:
    payload = {"title": "A title", name: raw}
    values, errors = clean_values(ENTITY, payload, is_create=True)
    if expected[0] == "ok":
        assert errors == []
        assert values[name] == expected[1]
        assert type(values[name]) is type(expected[1])
    else:
        assert errors == [FieldError(name, expected[1], expected[2])]
        assert name not in values or expected[1] == "required"


def test_every_type_and_option_is_in_the_table() -> None:
    tested = {name for name, _, _ in CASES}
    assert {f.name for f in ENTITY.fields} <= tested
    assert {f.type for f in ENTITY.fields if f.name in tested} >= {
        "string", "text", "integer", "decimal", "float", "boolean", "date", "datetime",
        "time", "email", "url", "uuid", "enum", "json", "reference",
    }  # fmt: skip
    codes = {expected[1] for _, _, expected in CASES if expected[0] == "error"}
    assert codes >= {
        "required", "type", "min", "max", "min_length", "max_length", "pattern", "choice",
        "email", "url", "digits", "places", "timezone", "unknown",
    }  # fmt: skip


def test_all_errors_of_a_payload_come_at_once() -> None:
    payload = {
        "title": "",
        "quantity": -5,
        "amount": "1.234",
        "ratio": "many",
        "at": "2024-01-01T00:00:00",
        "mail": "nobody",
        "kind": "omega",
        "code": "x",
        "nope": 1,
        "nick": "a",
    }
    values, errors = clean_values(ENTITY, payload, is_create=True)
    assert errors == [
        FieldError("quantity", "min", "must be at least 0, got -5"),
        FieldError("amount", "places", "at most 2 decimal places, got 1.234"),
        FieldError("ratio", "type", "expected a number, got 'many'"),
        FieldError("at", "timezone", "a date-time needs a time zone (e.g. 'Z' or '+02:00')"),
        FieldError("mail", "email", "'nobody' is not an email address"),
        FieldError("kind", "choice", "'omega' is not one of: alpha, beta, gamma"),
        FieldError("code", "pattern", "does not match the pattern [A-Z]{2}-[0-9]+"),
        FieldError("nope", "unknown", "Sample has no field 'nope'"),
        FieldError("nick", "min_length", "at least 3 characters, got 1"),
        FieldError("title", "required", "this field is required"),
    ]
    assert values == {"title": ""}


def test_required_on_create_and_on_update() -> None:
    # create: a missing required field is an error, unless it has a default
    _, errors = clean_values(ENTITY, {}, is_create=True)
    assert errors == [FieldError("title", "required", "this field is required")]
    # update: only the fields given are checked, and a required one cannot be emptied
    assert clean_values(ENTITY, {}, is_create=False) == ({}, [])
    assert clean_values(ENTITY, {"quantity": 3}, is_create=False) == ({"quantity": 3}, [])
    for empty in (None, "", " \t"):
        _, errors = clean_values(ENTITY, {"title": empty}, is_create=False)
        assert errors == [FieldError("title", "required", "this field is required")]


def test_defaults() -> None:
    def field(default: Any) -> Field:
        return Field("f", "string", LOC, "F", has_default=True, default=default)

    user, day = uuid.uuid4(), dt.date(2026, 12, 31)  # `today` is the platform's date
    before = dt.datetime.now(UTC)
    now = default_value(field("$now"), user, day)
    assert before <= now <= dt.datetime.now(UTC) and now.tzinfo is not None
    assert default_value(field("$today"), user, day) == day
    assert default_value(field("$user"), user, day) == user
    assert default_value(field("draft"), user, day) == "draft"
    assert default_value(field(3), user, day) == 3
    settings = Field("f", "json", LOC, "F", has_default=True, default={"theme": "dark"})
    assert default_value(settings, user, day) == '{"theme": "dark"}'


def test_json_values_keep_their_shape_in_the_database(database_url: str, tmp_path: Path) -> None:
    """A JSON string is stored as JSON (PostgreSQL refused the bare text), and every JSON
    value reads back as itself, not as its JSON text."""
    migrate_lab(database_url, tmp_path)
    values = [
        {"a": [1, 2.5, None, "é"]},
        [1, 2],
        5,
        1.5,
        0,
        True,
        False,
        "hello",
        "42",
        '{"x": 1}',
    ]

    async def run() -> list[Any]:
        async with lab_registry(database_url) as registry:
            service = RecordService(registry)
            system = Principal.system(await add_organization(registry, "json"), "test")
            read = []
            for value in values:
                created = await service.create(system, "Sample", {"title": "j", "data": value})
                assert created["data"] == value
                read.append((await service.get(system, "Sample", created["id"]))["data"])
                updated = await service.update(system, "Sample", created["id"], {"data": [value]})
                assert updated["data"] == [value]
                listed = await service.list(
                    system, "Sample", ListQuery(filter={"id": created["id"]})
                )
                assert [record["data"] for record in listed] == [[value]]
            return read

    assert asyncio.run(run()) == values
