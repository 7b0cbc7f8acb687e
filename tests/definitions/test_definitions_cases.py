"""Bad definitions: each case folder holds a `definitions/` tree and the exact report."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.definitions import DefinitionsError, check_project, format_problems, load_project

CASES = Path(__file__).parent / "cases"
CASE_NAMES = sorted(p.name for p in CASES.iterdir() if (p / "expected.txt").is_file())


def test_there_are_enough_cases() -> None:
    assert len(CASE_NAMES) >= 60


@pytest.mark.parametrize("case", CASE_NAMES)
def test_case_reports_exactly_the_expected_lines(
    case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(CASES / case)
    expected = (CASES / case / "expected.txt").read_text(encoding="utf-8").rstrip("\n")

    project, problems = check_project("definitions")

    assert format_problems(problems) == expected
    has_errors = any(p.severity == "error" for p in problems)
    assert (project is None) == has_errors


@pytest.mark.parametrize("case", CASE_NAMES)
def test_load_project_raises_with_the_same_problems(
    case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(CASES / case)
    _, problems = check_project("definitions")
    if not any(p.severity == "error" for p in problems):
        assert load_project("definitions") is not None
        return
    with pytest.raises(DefinitionsError) as caught:
        load_project("definitions")
    assert caught.value.problems == problems


def test_all_errors_of_several_broken_files_come_out_in_one_run_sorted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(CASES / "several_broken_files")

    _, problems = check_project("definitions")

    files = {p.loc.file for p in problems}
    assert files == {
        "definitions/entities/contact.yaml",
        "definitions/entities/ticket.yaml",
        "definitions/platform.yaml",
        "definitions/roles/agent.yaml",
        "definitions/workflows/triage.yaml",
    }
    keys = [(p.loc.file, p.loc.line, p.loc.col) for p in problems]
    assert keys == sorted(keys)
    # a loader error, a schema error and a semantic error in the same run
    messages = " | ".join(p.message for p in problems)
    assert "duplicate key 'name'" in messages
    assert "unknown key 'maxlength'" in messages
    assert "no entity named 'Contakt'" in messages


def test_the_first_file_in_sorted_order_defines_a_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Move the first Ticket into a folder that sorts last: the other one now wins."""
    source = CASES / "duplicate_entity_across_files" / "definitions"
    for file in source.rglob("*.yaml"):
        rel = file.relative_to(source).as_posix().replace("entities/", "z_entities/")
        target = tmp_path / "definitions" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(file.read_text())
    monkeypatch.chdir(tmp_path)

    _, problems = check_project("definitions")

    assert format_problems(problems).splitlines() == [
        "definitions/roles/agent_copy.yaml:1:7: role 'agent' is already defined at "
        "definitions/roles/agent.yaml:1:7",
        "definitions/z_entities/a_ticket.yaml:1:9: entity 'Ticket' is already defined at "
        "definitions/helpdesk/ticket.yaml:2:9",
    ]
