"""The YAML examples in docs/ pass `plinth check`, so the docs cannot drift from the code.

Each page's ```yaml blocks form one project: a block whose first key is `entity`, `role` or
`workflow` is a definition file, any other block is the page's platform.yaml. A block right
after an `<!-- fragment -->` line is an excerpt and is skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from runtime.definitions import check_project, format_problems, load_schema
from runtime.definitions.validate import SCHEMA_KINDS

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
REFERENCE = DOCS / "reference" / "definitions.md"
SPEC = REPO.parent / "shared" / "SPEC.md"  # outside the repository: may be missing in CI
FRAGMENT = "<!-- fragment -->"
_FENCE = re.compile(r"^```ya?ml\s*$")
_KIND = re.compile(r"^(entity|role|workflow):", re.MULTILINE)


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # 1-based line of the opening fence
    text: str
    is_fragment: bool


def yaml_blocks(page: Path) -> list[Block]:
    """Every ```yaml block of a Markdown page, with the line it starts on."""
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    number = 0
    while number < len(lines):
        if _FENCE.match(lines[number].strip()):
            start = number
            end = next(i for i in range(start + 1, len(lines)) if lines[i].strip() == "```")
            before = next((lines[i].strip() for i in range(start - 1, -1, -1) if lines[i]), "")
            text = "\n".join(lines[start + 1 : end]) + "\n"
            blocks.append(Block(page, start + 1, text, before == FRAGMENT))
            number = end
        number += 1
    return blocks


PAGES = sorted(p for p in DOCS.rglob("*.md") if any(not b.is_fragment for b in yaml_blocks(p)))


def test_the_reference_and_the_how_to_have_examples() -> None:
    names = {p.relative_to(DOCS).as_posix() for p in PAGES}
    assert {"reference/definitions.md", "how-to/editor-autocomplete.md"} <= names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(DOCS).as_posix())
def test_the_examples_of_a_page_form_a_valid_project(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "definitions"
    root.mkdir()
    platform_blocks = 0
    for block in yaml_blocks(page):
        if block.is_fragment:
            continue
        match = _KIND.search(block.text)
        if match is None:
            platform_blocks += 1
            name = "platform.yaml"
        else:
            name = f"{match.group(1)}_line_{block.line:04d}.yaml"
        (root / name).write_text(block.text, encoding="utf-8")
    assert platform_blocks <= 1, f"{page}: more than one platform.yaml example"
    monkeypatch.chdir(tmp_path)

    project, problems = check_project("definitions")

    # file names carry the Markdown line of each block, to find a failing example
    assert format_problems(problems) == ""
    assert project is not None


def test_every_yaml_example_of_the_spec_is_in_the_reference() -> None:
    """SPEC.md lives outside the repository; its examples are copied into the reference
    (where the test above checks them), and must stay the same as the SPEC's."""
    if not SPEC.is_file():
        pytest.skip(f"{SPEC} is not here")
    reference = REFERENCE.read_text(encoding="utf-8")
    for block in yaml_blocks(SPEC):
        assert block.text in reference, f"SPEC.md:{block.line} is not in {REFERENCE.name}"


def _keys(schema: object) -> set[str]:
    """Every property name a schema defines, at any depth."""
    found: set[str] = set()
    if isinstance(schema, dict):
        found.update(schema.get("properties", {}))
        for value in schema.values():
            found |= _keys(value)
    elif isinstance(schema, list):
        for item in schema:
            found |= _keys(item)
    return found


@pytest.mark.parametrize("kind", SCHEMA_KINDS)
def test_the_reference_names_every_key_of_the_schemas(kind: str) -> None:
    reference = REFERENCE.read_text(encoding="utf-8")
    missing = sorted(k for k in _keys(load_schema(kind)) if f"`{k}`" not in reference)
    assert missing == []


def test_the_reference_names_every_field_type() -> None:
    reference = REFERENCE.read_text(encoding="utf-8")
    types = load_schema("entity")["$defs"]["field"]["properties"]["type"]["enum"]
    assert [t for t in types if f"| `{t}` |" not in reference] == []
