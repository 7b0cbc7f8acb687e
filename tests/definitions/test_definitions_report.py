"""Problems rendered for people and for tools, and the exception that carries them."""

from __future__ import annotations

import json

import pytest

from runtime.definitions import DefinitionsError, Loc, Problem, format_problems

PROBLEMS = [
    Problem(Loc("definitions/b.yaml", 2, 1), "second file"),
    Problem(Loc("definitions/a.yaml", 10, 3), "late in the first file"),
    Problem(Loc("definitions/a.yaml", 2, 7), "search only matches text", "warning"),
    Problem(Loc("definitions/a.yaml", 2, 5), "early in the first file"),
]


def test_text_lines_name_file_line_and_column_and_prefix_warnings() -> None:
    assert format_problems(PROBLEMS[:3]).splitlines() == [
        "definitions/b.yaml:2:1: second file",
        "definitions/a.yaml:10:3: late in the first file",
        "definitions/a.yaml:2:7: warning: search only matches text",
    ]


def test_warnings_come_after_the_errors() -> None:
    assert format_problems(PROBLEMS).splitlines() == [
        "definitions/b.yaml:2:1: second file",
        "definitions/a.yaml:10:3: late in the first file",
        "definitions/a.yaml:2:5: early in the first file",
        "definitions/a.yaml:2:7: warning: search only matches text",
    ]
    as_json = json.loads(format_problems(PROBLEMS, fmt="json"))
    assert [p["severity"] for p in as_json] == ["error", "error", "error", "warning"]


def test_json_is_a_list_of_objects() -> None:
    assert json.loads(format_problems(PROBLEMS[2:3], fmt="json")) == [
        {
            "file": "definitions/a.yaml",
            "line": 2,
            "col": 7,
            "severity": "warning",
            "message": "search only matches text",
        }
    ]
    assert format_problems([], fmt="json") == "[]"


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown format 'xml'"):
        format_problems(PROBLEMS, fmt="xml")  # type: ignore[arg-type]


def test_definitions_error_sorts_by_file_line_and_column() -> None:
    error = DefinitionsError(PROBLEMS)
    assert [(p.loc.file, p.loc.line, p.loc.col) for p in error.problems] == [
        ("definitions/a.yaml", 2, 5),
        ("definitions/a.yaml", 2, 7),
        ("definitions/a.yaml", 10, 3),
        ("definitions/b.yaml", 2, 1),
    ]
    assert str(error) == (
        "3 error(s) in definitions; first: definitions/a.yaml:2:5: early in the first file"
    )
