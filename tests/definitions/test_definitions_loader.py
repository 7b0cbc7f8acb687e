"""Safe YAML loading: positions, YAML 1.2 scalars, and files that must be refused."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from runtime.definitions import check_project, find_definition_files, format_problems
from runtime.definitions.loader import load_document


def report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, bytes | str]) -> str:
    for rel, content in files.items():
        path = tmp_path / "definitions" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    monkeypatch.chdir(tmp_path)
    _, problems = check_project("definitions")
    return format_problems(problems)


def test_non_utf8_file_is_refused_at_the_bad_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = "entity: Ticket\nlabel: Caf\xe9\n".encode("latin-1")
    assert report(tmp_path, monkeypatch, {"t.yaml": content}) == (
        "definitions/t.yaml:2:11: file is not valid UTF-8 (byte 0xe9 cannot be decoded); "
        "save it with UTF-8 encoding"
    )


def test_utf8_bom_and_non_ascii_columns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    content = (
        "\ufeffentity: Ticket\nlabel: Störung\nfields: {größe: {type: string}, x: {type: nope}}\n"
    )
    assert report(tmp_path, monkeypatch, {"t.yaml": content}) == "\n".join([
        "definitions/t.yaml:3:10: field name 'größe' must be snake_case "
        "(lowercase ASCII letters, digits and single underscores)",
        "definitions/t.yaml:3:43: field 'x': 'type' must be string, text, integer, decimal, "
        "float, boolean, date, datetime, time, email, url, uuid, enum, json, reference or file, "
        "got 'nope'",
    ])  # fmt: skip


def test_control_character_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert report(tmp_path, monkeypatch, {"t.yaml": "entity: Ticket\nlabel: a\x07b\n"}) == (
        "definitions/t.yaml:2:9: invalid YAML: character #x0007 is not allowed "
        "(control characters are not allowed)"
    )


def test_scalars_follow_yaml_1_2(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "entity: T\non: yes\nno: off\na: true\nb: 0x1F\nc: 1.5e3\nd: ~\ne: '3'\nf: !!str 4\n"
        "g: .inf\nh: 2024-01-31\n"
    )
    doc, problems = load_document(path, "s.yaml")
    assert problems == []
    assert doc is not None
    assert doc.data == {
        "entity": "T", "on": "yes", "no": "off", "a": True, "b": 31, "c": 1500.0, "d": None,
        "e": "3", "f": "4", "g": float("inf"), "h": "2024-01-31",
    }  # fmt: skip
    assert doc.loc(("on",)) == doc.loc(("on",))
    assert (doc.key_loc(("no",)).line, doc.key_loc(("no",)).col) == (3, 1)
    assert (doc.loc(("no",)).line, doc.loc(("no",)).col) == (3, 5)


@pytest.mark.alone  # it times the parse
def test_alias_bomb_is_refused_without_expanding(tmp_path: Path) -> None:
    lines = ["entity: T", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")

    started = time.perf_counter()
    doc, problems = load_document(path, "bomb.yaml")

    assert time.perf_counter() - started < 2
    assert doc is not None and not doc.is_complete
    assert problems[0].message == (
        "YAML anchor '&a0' is not allowed in definitions: repeat the value instead"
    )
    assert sum("YAML alias '*a0'" in p.message for p in problems) == 10


def test_deep_nesting_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deep = "entity: T\nfields: {a: {type: json, default: " + "[" * 60 + "]" * 60 + "}}\n"
    assert report(tmp_path, monkeypatch, {"t.yaml": deep}) == (
        "definitions/t.yaml:2:82: nesting deeper than 50 levels is not allowed"
    )


def test_mapping_keys_must_be_plain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = "entity: T\nfields:\n  ? [a, b]\n  : {type: string}\n  c: {type: string}\n"
    assert report(tmp_path, monkeypatch, {"t.yaml": text}) == (
        "definitions/t.yaml:3:5: a mapping key must be a plain name, not a mapping or a list"
    )


def test_empty_platform_yaml_means_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert report(tmp_path, monkeypatch, {"platform.yaml": "# nothing yet\n"}) == ""


def test_platform_yaml_below_the_root_is_an_ordinary_definition(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert report(tmp_path, monkeypatch, {"sub/platform.yaml": "name: Acme\n"}) == (
        "definitions/sub/platform.yaml:1:1: unknown definition kind 'name': "
        "the first key must be 'entity', 'role' or 'workflow'"
    )


def test_missing_folder_is_a_problem_not_an_exception(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    project, problems = check_project("nowhere")
    assert project is None
    assert format_problems(problems) == "nowhere:1:1: definitions folder not found"


def test_files_are_found_recursively_sorted_skipping_hidden(tmp_path: Path) -> None:
    for rel in ("b.yaml", "a/z.yml", "a/c.yaml", ".git/x.yaml", "a/.hidden.yaml", "notes.txt"):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    found = [p.relative_to(tmp_path).as_posix() for p in find_definition_files(tmp_path)]
    assert found == ["a/c.yaml", "a/z.yml", "b.yaml"]
