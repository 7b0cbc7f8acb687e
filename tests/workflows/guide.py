"""The workflows guide's examples as a project the tests run, so the guide cannot drift.

`write_project(folder, workflows=[...])` writes the guide's entities and roles, the named
workflow blocks (and those the roles' `actions` name, without which the roles are invalid) and
its platform.yaml (with `platform` merged in, e.g. the test receiver's host in `allow_hosts`)
as a definitions folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.definitions.test_definitions_docs import yaml_blocks

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guides" / "workflows.md"


def blocks() -> list[dict[str, Any]]:
    return [_on_key(yaml.safe_load(b.text)) for b in yaml_blocks(GUIDE) if not b.is_fragment]


def _on_key(block: dict[Any, Any]) -> dict[str, Any]:
    """PyYAML reads a workflow's `on:` as the boolean True (YAML 1.1): give it its name back
    (written out again, it is quoted, so the definitions loader reads it as `on`)."""
    return {("on" if key is True else key): value for key, value in block.items()}


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
    granted = [
        action
        for block in blocks()
        if "role" in block
        for permission in block.get("permissions", {}).values()
        for action in permission.get("actions", ())
    ]
    for name in dict.fromkeys([*workflows, *granted]):
        _write(folder / "workflows" / f"{name}.yaml", workflow(name))
    (folder / "platform.yaml").write_text(yaml.dump({**base, **(platform or {})}))
    return folder


def _write(path: Path, block: dict[str, Any]) -> None:
    path.write_text(yaml.dump(block, sort_keys=False))  # the kind's key stays first
