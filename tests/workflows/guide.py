"""The workflows guide's examples as a project the tests run, so the guide cannot drift.

`write_project(folder, workflows=[...])` writes the guide's entities and roles, the named
workflow blocks and its platform.yaml (with `platform` merged in, e.g. the test receiver's
host in `allow_hosts`) as a definitions folder.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from tests.definitions.test_definitions_docs import yaml_blocks

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guides" / "workflows.md"


class _Loader(yaml.SafeLoader):
    """YAML 1.2 booleans, as Plinth reads definitions: `on:` is a key, not True."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def blocks() -> list[dict[str, Any]]:
    return [yaml.load(b.text, Loader=_Loader) for b in yaml_blocks(GUIDE) if not b.is_fragment]


def workflow(name: str) -> dict[str, Any]:
    """The guide's workflow block named `name`."""
    found = [b for b in blocks() if b.get("workflow") == name]
    assert found, f"the workflows guide has no workflow '{name}'"
    return found[0]


def write_project(
    folder: Path, workflows: list[str], platform: dict[str, Any] | None = None
) -> Path:
    """A definitions folder: the guide's entities and roles, `workflows`, its platform.yaml
    updated with `platform`."""
    for kind in ("entities", "roles", "workflows"):
        (folder / kind).mkdir(parents=True, exist_ok=True)
    base: dict[str, Any] = {}
    for block in blocks():
        if "entity" in block:
            _write(folder / "entities" / f"{block['entity'].lower()}.yaml", block)
        elif "role" in block:
            _write(folder / "roles" / f"{block['role']}.yaml", block)
        elif "workflow" not in block:
            base = block
    for name in workflows:
        _write(folder / "workflows" / f"{name}.yaml", workflow(name))
    (folder / "platform.yaml").write_text(yaml.dump({**base, **(platform or {})}))
    return folder


def _write(path: Path, block: dict[str, Any]) -> None:
    path.write_text(yaml.dump(block, sort_keys=False))  # the kind's key stays first
