"""One "did you mean" for every message: `plinth check`, the filter grammar, the API's filters
and the API's values all suggest through `runtime.suggest.did_you_mean`, so a name that
differs only in case (which `difflib` alone does not find) is suggested by each of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime import suggest
from runtime.definitions import _wording, check_project
from runtime.filters import FilterError, parse, parse_filter
from runtime.service import queries, values
from runtime.service.queries import BadQuery, parse_query_filter, typed
from runtime.service.values import clean_values
from tests.service.lab import lab_project

PROJECT = lab_project()
SAMPLE = PROJECT.entities["Sample"]


def test_the_helper() -> None:
    assert suggest.did_you_mean("lable", ["label", "plural"]) == " (did you mean 'label'?)"
    assert suggest.did_you_mean("TITLE", ["title", "body"]) == " (did you mean 'title'?)"
    assert suggest.did_you_mean("zzz", ["title"]) == ""
    assert suggest.did_you_mean(3, ["title"]) == ""
    assert suggest.did_you_mean("title", []) == ""


def test_every_site_calls_the_one_helper() -> None:
    for module in (_wording, parse, queries, values):
        assert module.did_you_mean is suggest.did_you_mean, module.__name__


def test_plinth_check_suggests_across_case(tmp_path: Path) -> None:
    entities = tmp_path / "entities"
    entities.mkdir()
    (entities / "ticket.yaml").write_text("entity: Ticket\nfields:\n  SUBJECT: {type: string}\n")
    (tmp_path / "roles").mkdir()
    (tmp_path / "roles" / "agent.yaml").write_text(
        "role: agent\npermissions:\n  Ticket: {read: {subject: x}}\n"
    )
    _, problems = check_project(tmp_path)
    messages = [p.message for p in problems]
    assert "field 'subject' in filter: no such field on Ticket (did you mean 'SUBJECT'?)" in (
        messages
    )


def test_the_grammar_suggests_across_case() -> None:
    with pytest.raises(FilterError) as caught:
        parse_filter({"title": {"ICONTAINS": "x"}})
    assert caught.value.message == "unknown operator 'ICONTAINS' (did you mean 'icontains'?)"


def test_the_api_filters_suggest_across_case() -> None:
    with pytest.raises(BadQuery) as caught:
        typed(PROJECT, SAMPLE, parse_query_filter({"TITLE": "x"}), {})
    assert [e.message for e in caught.value.errors] == [
        "Sample has no field 'TITLE' (did you mean 'title'?)"
    ]


def test_the_api_values_suggest_across_case() -> None:
    _, errors = clean_values(SAMPLE, {"title": "x", "TITLE": "x"}, is_create=False)
    assert [e.message for e in errors] == ["Sample has no field 'TITLE' (did you mean 'title'?)"]
