"""Invalid filters, each with the exact error a configurator or an API caller reads.

Two tables: what the grammar refuses on its own (`parse_filter`: the location inside the filter,
then what was expected), and what only the Model can refuse (`typed`: unknown or hidden
fields, with a suggestion; paths through non-references; operators a type has not; variables
that do not exist; operands of the wrong type) — each with the field, code and message the
API answers in its problem+json `errors`."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest

from runtime.definitions.model import Entity, Field
from runtime.filters import FilterError, evaluate, parse_filter
from runtime.filters.ast import walk
from runtime.service.queries import BadQuery, parse_query_filter, typed
from tests.service.lab import lab_project

PROJECT = lab_project()
SAMPLE = PROJECT.entities["Sample"]
USER = uuid.UUID("8c4b5f3e-1d2a-4e6f-9a0b-3c2d1e0f4a5b")
VARIABLES = {
    "$user.id": USER,
    "$user.email": "ann@example.com",
    "$user.roles": ["clerk"],
    "$tenant.id": uuid.UUID("2aa0f3cd-861f-4f93-ad57-402ee86ce355"),
    "$now": dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC),
    "$today": dt.date(2024, 5, 1),
}


NOT_FROM = (
    "a condition cannot start from '%s': only $changed, $user.roles, $old.<path> and "
    "$record.<path> can, in a workflow's 'when'"
)


def _id(raw: Any) -> str:
    return json.dumps(raw, default=str)[:60]


PARSE_ERRORS = [
    ([], "filter: a filter is an object, got a list"),
    ("status", "filter: a filter is an object, got text"),
    (None, "filter: a filter is an object, got null"),
    ({"and": {}}, "and: 'and' expects a non-empty list of filters"),
    ({"or": []}, "or: 'or' expects a non-empty list of filters"),
    ({"and": [1]}, "and.0: a filter is an object, got a number"),
    ({"not": []}, "not: a filter is an object, got a list"),
    ({"not": "x"}, "not: a filter is an object, got text"),
    ({"title": {}}, "title: expected {operator: value}, got an empty object"),
    ({"title": {"equals": "x"}}, "title.equals: unknown operator 'equals'"),
    (
        {"title": {"icontain": "x"}},
        "title.icontain: unknown operator 'icontain' (did you mean 'icontains'?)",
    ),
    ({"title": {"like": "%x%"}}, "title.like: unknown operator 'like'"),
    ({"title": {"eq": None}}, "title.eq: 'eq' cannot compare with null: use {isnull: true}"),
    ({"title": None}, "title: 'eq' cannot compare with null: use {isnull: true}"),
    ({"quantity": {"gt": None}}, "quantity.gt: 'gt' cannot compare with null: use {isnull: true}"),
    (
        {"title": {"startswith": None}},
        "title.startswith: 'startswith' cannot compare with null: use {isnull: true}",
    ),
    (
        {"quantity": {"between": [1, 2, 3]}},
        "quantity.between: 'between' expects [low, high], got 3 values",
    ),
    (
        {"quantity": {"between": [1]}},
        "quantity.between: 'between' expects [low, high], got 1 value",
    ),
    ({"quantity": {"between": 5}}, "quantity.between: 'between' expects a list, got a number"),
    ({"kind": {"in": "alpha"}}, "kind.in: 'in' expects a list, got text"),
    ({"kind": {"nin": {"a": 1}}}, "kind.nin: 'nin' expects a list, got an object"),
    ({"kind": {"in": [["alpha"]]}}, "kind.in.0: expected a single value, got a list"),
    ({"flag": {"isnull": "yes"}}, "flag.isnull: 'isnull' expects true or false, got 'yes'"),
    ({"flag": {"isnull": 1}}, "flag.isnull: 'isnull' expects true or false, got 1"),
    ({"flag": {"isnull": None}}, "flag.isnull: 'isnull' expects true or false, got null"),
    ({"title": {"contains": 5}}, "title.contains: 'contains' expects text, got a number"),
    ({"title": {"endswith": ["a"]}}, "title.endswith: 'endswith' expects text, got a list"),
    ({"title": {"eq": [1]}}, "title.eq: expected a single value, got a list"),
    ({"title": {"eq": {"a": 1}}}, "title.eq: expected a single value, got an object"),
    ({"title": ["a", "b"]}, "title: expected a single value, got a list"),
    (
        {"contact.company.region.name.x": 1},
        "contact.company.region.name.x: a path goes through at most 3 references, not 4",
    ),
    (
        {"contact..name": 1},
        "contact..name: 'contact..name' is not a field name or a path like 'contact.name'",
    ),
    ({"": 1}, "filter: '' is not a field name or a path like 'contact.name'"),
    ({".name": 1}, ".name: '.name' is not a field name or a path like 'contact.name'"),
    ({1: "x"}, "1: a field name is text, got a number"),
    (
        {"and": [{"title": "x"}, {"quantity": {"gt": None}}]},
        "and.1.quantity.gt: 'gt' cannot compare with null: use {isnull: true}",
    ),
    ({"not": {"or": [{"quantity": {"bad": 1}}]}}, "not.or.0.quantity.bad: unknown operator 'bad'"),
    # Only a workflow's `when` may start a condition from a variable.
    ({"$changed": {"contains": "title"}}, f"$changed: {NOT_FROM % '$changed'}"),
    ({"or": [{"$old.title": "x"}]}, f"or.0.$old.title: {NOT_FROM % '$old.title'}"),
]


@pytest.mark.parametrize(("raw", "message"), PARSE_ERRORS, ids=[_id(r) for r, _ in PARSE_ERRORS])
def test_the_grammar_refuses(raw: Any, message: str) -> None:
    with pytest.raises(FilterError) as caught:
        parse_filter(raw)
    assert str(caught.value) == message
    # Through the API the same text comes as one error of a 400 problem+json.
    with pytest.raises(BadQuery) as bad:
        parse_query_filter(raw)
    where, _, text = message.partition(": ")
    assert [(e.field, e.code, e.message) for e in bad.value.errors] == [(where, "filter", text)]
    assert bad.value.status == 400


MODEL_ERRORS = [
    # fields: unknown (with a suggestion among what the caller may use), hidden, platform
    (
        {"titel": "x"},
        "titel",
        "unknown_field",
        "Sample has no field 'titel' (did you mean 'title'?)",
    ),
    ({"secret": "x"}, "secret", "unknown_field", "Sample has no field 'secret'"),
    ({"secret": {"isnull": True}}, "secret", "unknown_field", "Sample has no field 'secret'"),
    ({"secrt": "x"}, "secrt", "unknown_field", "Sample has no field 'secrt'"),
    (
        {"contact.compny.name": "x"},
        "contact.compny.name",
        "unknown_field",
        "Contact has no field 'compny' (did you mean 'company'?)",
    ),
    (
        {"owner.emial": "x"},
        "owner.emial",
        "unknown_field",
        "User has no field 'emial' (did you mean 'email'?)",
    ),
    ({"owner.password": "x"}, "owner.password", "unknown_field", "User has no field 'password'"),
    (
        {"and": [{"title": "x"}, {"not": {"quantty": 1}}]},
        "quantty",
        "unknown_field",
        "Sample has no field 'quantty' (did you mean 'quantity'?)",
    ),
    # paths through what is not a reference
    ({"title.name": "x"}, "title.name", "not_reference", "'title' is not a reference"),
    (
        {"contact.name.first": "x"},
        "contact.name.first",
        "not_reference",
        "'name' is not a reference",
    ),
    # operators a type does not have
    ({"flag": {"gt": True}}, "flag", "operator", "'gt' does not apply to boolean"),
    (
        {"flag": {"between": [False, True]}},
        "flag",
        "operator",
        "'between' does not apply to boolean",
    ),
    (
        {"quantity": {"contains": "1"}},
        "quantity",
        "operator",
        "'contains' applies to text, not integer",
    ),
    ({"token": {"icontains": "ab"}}, "token", "operator", "'icontains' applies to text, not uuid"),
    ({"day": {"startswith": "2024"}}, "day", "operator", "'startswith' applies to text, not date"),
    ({"data": {"eq": 1}}, "data", "operator", "'eq' does not apply to json"),
    ({"contact": {"gt": str(USER)}}, "contact", "operator", "'gt' does not apply to reference"),
    # variables that do not exist here
    ({"owner": "$user.idd"}, "owner", "variable", "variable $user.idd is not available here"),
    ({"at": {"lt": "$yesterday"}}, "at", "variable", "variable $yesterday is not available here"),
    (
        {"title": "$record.title"},
        "title",
        "variable",
        "variable $record.title is not available here",
    ),
    # operands of the wrong type
    ({"quantity": "ten"}, "quantity", "type", "expected an integer, got 'ten'"),
    ({"quantity": 1.5}, "quantity", "type", "expected an integer, got 1.5"),
    ({"quantity": True}, "quantity", "type", "expected an integer, got true/false"),
    (
        {"quantity": {"gt": 2**31}},
        "quantity",
        "type",
        "expected an integer from -2147483648 to 2147483647, got 2147483648",
    ),
    ({"quantity": {"between": [1, "x"]}}, "quantity", "type", "expected an integer, got 'x'"),
    ({"version": "one"}, "version", "type", "expected an integer, got 'one'"),
    ({"amount": "abc"}, "amount", "type", "expected a decimal number, got 'abc'"),
    ({"amount": "NaN"}, "amount", "type", "expected a finite number, got 'NaN'"),
    ({"ratio": {"lt": "nan"}}, "ratio", "type", "expected a finite number, got 'nan'"),
    ({"ratio": {"gt": "-inf"}}, "ratio", "type", "expected a finite number, got '-inf'"),
    ({"flag": "banana"}, "flag", "type", "expected true or false, got 'banana'"),
    ({"flag": 2}, "flag", "type", "expected true or false, got 2"),
    ({"day": "2024-13-01"}, "day", "type", "expected a date YYYY-MM-DD, got '2024-13-01'"),
    (
        {"day": {"lt": "$now"}},
        "day",
        "type",
        "expected a date YYYY-MM-DD, got 2024-05-01T12:00:00+00:00",
    ),
    (
        {"at": "2024-01-01T10:00"},
        "at",
        "timezone",
        "a date-time needs a time zone (e.g. 'Z' or '+02:00')",
    ),
    ({"at": "yesterday"}, "at", "type", "expected an ISO 8601 date-time, got 'yesterday'"),
    (
        {"at": {"gt": "0001-01-01T00:00:00+05:00"}},
        "at",
        "type",
        "the date-time 0001-01-01T00:00:00+05:00 is out of range in UTC",
    ),
    (
        {"created_at": {"gt": "2024-01-01"}},
        "created_at",
        "timezone",
        "a date-time needs a time zone (e.g. 'Z' or '+02:00')",
    ),
    ({"clock": "25:00"}, "clock", "type", "expected a time HH:MM[:SS], got '25:00'"),
    ({"clock": "10:00+02:00"}, "clock", "timezone", "a time has no time zone, got 10:00+02:00"),
    ({"token": "not-a-uuid"}, "token", "type", "expected a UUID, got 'not-a-uuid'"),
    ({"contact": 42}, "contact", "type", "expected a UUID, got 42"),
    ({"id": {"in": [str(USER), "x"]}}, "id", "type", "expected a UUID, got 'x'"),
    ({"title": {"eq": 5}}, "title", "type", "expected a string, got a number"),
    (
        {"contact.company.region.name": 5},
        "contact.company.region.name",
        "type",
        "expected a string, got a number",
    ),
    ({"title": "a\x00b"}, "title", "type", "text cannot contain the NUL character (\\u0000)"),
    (
        {"title": {"icontains": "\ud800"}},
        "title",
        "type",
        "text cannot contain a lone surrogate ('\\ud800')",
    ),
    (
        {"kind": {"in": ["alpha", "\x00"]}},
        "kind",
        "type",
        "text cannot contain the NUL character (\\u0000)",
    ),
]


def test_a_when_may_start_from_a_variable() -> None:
    """`left_variables` (a workflow's `when`): the Cond keeps the variable as its field and
    `evaluate` reads it from the variables; a list is only asked {contains: <name>}."""
    raw = {"$changed": {"contains": "title"}, "$old.quantity": {"lt": 3}, "$record.title": "b"}
    node = parse_filter(raw, left_variables=True)
    assert [c.field for c in walk(node)] == ["$changed", "$old.quantity", "$record.title"]
    node = typed(PROJECT, SAMPLE, node, VARIABLES)
    record = {"title": "b", "quantity": 5}
    for changed, old, matches in [
        (["title"], {"quantity": 2}, True),
        (["quantity"], {"quantity": 2}, False),
        (["title"], {"quantity": 3}, False),
        (["title"], None, False),  # a created record has no old one: $old.quantity is null
    ]:
        variables = {**VARIABLES, "$changed": changed, "$old": old}
        assert evaluate(node, record, variables) is matches
    roles = parse_filter({"$user.roles": {"contains": "clerk"}}, left_variables=True)
    assert evaluate(roles, {}, VARIABLES)
    for raw, message in [
        (
            {"$changed": "title"},
            "$changed: '$changed' is a list: ask it {contains: <name>}, got text",
        ),
        ({"$user.email": "a@b.c"}, f"$user.email: {NOT_FROM % '$user.email'}"),
        ({"$old": {"isnull": True}}, f"$old: {NOT_FROM % '$old'}"),
    ]:
        with pytest.raises(FilterError) as caught:
            parse_filter(raw, left_variables=True)
        assert str(caught.value) == message


@pytest.mark.parametrize(
    ("raw", "field", "code", "message"), MODEL_ERRORS, ids=[_id(c[0]) for c in MODEL_ERRORS]
)
def test_the_model_refuses(raw: Any, field: str, code: str, message: str) -> None:
    with pytest.raises(BadQuery) as caught:
        typed(PROJECT, SAMPLE, parse_query_filter(raw), VARIABLES)
    assert [(e.field, e.code, e.message) for e in caught.value.errors] == [(field, code, message)]
    assert caught.value.status == 400


def test_fields_the_caller_may_not_read_are_unknown_and_never_suggested() -> None:
    def can_read(entity: Entity, field: Field) -> bool:
        return not (entity.name == "Sample" and field.name == "body")

    for raw, expected in [
        ({"body": "x"}, "Sample has no field 'body'"),
        ({"bdy": "x"}, "Sample has no field 'bdy' (did you mean 'day'?)"),  # not 'body'
        ({"secre": "x"}, "Sample has no field 'secre'"),
    ]:
        with pytest.raises(BadQuery) as caught:
            typed(PROJECT, SAMPLE, parse_query_filter(raw), VARIABLES, can_read)
        assert [e.message for e in caught.value.errors] == [expected]


def test_enough_invalid_filters() -> None:
    assert len(PARSE_ERRORS) + len(MODEL_ERRORS) >= 40
