"""Invariant: whatever the YAML says, `check_project` reports problems and never raises."""

from __future__ import annotations

import random
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from runtime.definitions import check_project

HERE = Path(__file__).parent
SOURCES = sorted(
    [*(HERE / "cases").rglob("*.yaml"), *(HERE.parents[1] / "definitions").rglob("*.yaml")]
)
ODD_VALUES: list[Any] = [
    None, True, 3, -1, 2.5, "x", "", "$now", "$user.id", "$record.foo", [], {}, [1, "a"],
    {"a": 1}, {"eq": 1}, "Ticket", "status", "*", "10s", "new", "{{ x }", "{{ record.a.b }}",
    "{% if x %}", "{{ a | nofilter }}", "0 25 * * *", "* * * * *", "$old", "$changed", 1e400,
    {"icontains": 3}, {"between": [1]}, {"in": "$user.roles"}, "renamed", "select",
]  # fmt: skip


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@cache
def _samples() -> list[dict[str, Any]]:
    samples = []
    for path in SOURCES:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError):
            continue
        if isinstance(data, dict):
            samples.append(_plain(data))
    return samples


def _mutate(value: Any, rng: random.Random) -> Any:
    if isinstance(value, dict):
        mutated = {}
        for key, item in value.items():
            roll = rng.random()
            if roll < 0.1:
                continue
            if roll < 0.2:
                mutated[key] = rng.choice(ODD_VALUES)
            elif roll < 0.25:
                mutated[key + "x"] = item
            else:
                mutated[key] = _mutate(item, rng)
        return mutated
    if isinstance(value, list):
        items = [_mutate(item, rng) for item in value if rng.random() > 0.1]
        return [*items, rng.choice(ODD_VALUES)] if rng.random() < 0.1 else items
    return rng.choice(ODD_VALUES) if rng.random() < 0.2 else value


@pytest.mark.parametrize("seed", range(40))
def test_mutated_definitions_never_raise(seed: int, tmp_path: Path) -> None:
    rng = random.Random(seed)
    samples = _samples()
    root = tmp_path / "definitions"
    for number in range(6):
        folder = root / rng.choice(["entities", "roles", "workflows", "."])
        folder.mkdir(parents=True, exist_ok=True)
        name = "platform.yaml" if rng.random() < 0.1 else f"d{number}.yaml"
        data = _mutate(rng.choice(samples), rng)
        (folder / name).write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")

    project, problems = check_project(root)

    assert (project is None) == any(p.severity == "error" for p in problems)
