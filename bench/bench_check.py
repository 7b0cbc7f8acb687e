"""Benchmark `plinth check` on a large generated project (issue 4: under 2 s on this machine).

Generates 1,000 entities (10 fields each, references among them, every 10th with a state
machine) and 50 roles (row rules, field sets, transitions, inheritance) into a temporary
folder, then times `python -m runtime.cli check --definitions DIR` as a whole process, so
interpreter start-up and imports count too. It prints wall-clock time and the process's CPU
time: on a busy machine the CPU time shows what the check itself costs. Exits 1 when the
median wall time misses the target.

    uv run python bench/bench_check.py [--entities 1000] [--roles 50] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 2.0
STATES = "[draft, open, done]"
ROW_RULE = "    update: {and: [{status: {in: [draft, open]}}, {created_by: $user.id}]}"


def entity_yaml(number: int) -> str:
    """Entity `E<number>`: 10 fields of mixed types, two references to earlier entities."""
    name = f"E{number:04d}"
    parent = f"E{number // 2:04d}"  # E0000 refers to itself
    sibling = f"E{max(number - 1, 0):04d}"
    lines = [
        f"entity: {name}",
        f"module: m{number % 20}",
        'display: "{{ title }} ({{ code }})"',
        "fields:",
        "  title: {type: string, max_length: 120, required: true}",
        "  code: {type: string, pattern: '^[A-Z]{3}-[0-9]+$', unique: true}",
        "  notes: {type: text, help: Free text}",
        "  amount: {type: decimal, digits: 12, places: 2, min: 0, default: 0}",
        "  quantity: {type: integer, min: 1, max: 1000, default: 1}",
        f"  status: {{type: enum, choices: {STATES}, default: draft}}",
        "  due_on: {type: date, default: $today}",
        "  active: {type: boolean, default: true}",
        f"  parent: {{type: reference, to: {parent}, on_delete: set_null}}",
        f"  sibling: {{type: reference, to: {sibling}, on_delete: restrict, required: true}}",
        "indexes:",
        "  - {fields: [status, due_on]}",
    ]
    if number % 10 == 0:
        lines += [
            "states:",
            "  field: status",
            "  initial: draft",
            "  transitions:",
            "    publish: {from: draft, to: open}",
            "    finish: {from: [draft, open], to: done}",
        ]
    lines += [
        "admin:",
        "  list: [title, code, status, amount, parent]",
        "  filters: [status, active, parent.title]",
        "  search: [title, code, notes]",
        "  order: -due_on",
    ]
    return "\n".join(lines) + "\n"


def role_yaml(number: int, entities: int) -> str:
    """Role `r<number>`: permissions on 20 entities, with row rules on half of them."""
    lines = [f"role: r{number:02d}", f"label: Role {number}"]
    if number:
        lines.append(f"inherits: [r{number - 1:02d}]")
    lines.append("permissions:")
    for offset in range(20):
        target = (number * 20 + offset) % entities
        lines.append(f"  E{target:04d}:")
        lines.append("    read: true")
        if offset % 2:
            lines.append(ROW_RULE)
            lines.append("    delete: {sibling.title: {icontains: old}}")
        else:
            lines.append("    create: true")
        lines.append("    fields: {read: '*', write: [title, notes, amount, status]}")
        if target % 10 == 0:
            lines.append("    transitions: [publish, finish]")
    return "\n".join(lines) + "\n"


def generate(root: Path, entities: int, roles: int) -> None:
    (root / "entities").mkdir(parents=True)
    (root / "roles").mkdir()
    for number in range(entities):
        (root / "entities" / f"e{number:04d}.yaml").write_text(entity_yaml(number))
    for number in range(roles):
        (root / "roles" / f"r{number:02d}.yaml").write_text(role_yaml(number, entities))
    (root / "platform.yaml").write_text("name: Bench\ntimezone: UTC\n")


def time_check(definitions: Path) -> tuple[float, float]:
    """Wall-clock and CPU seconds (user + system) of one `plinth check` process.

    Exits when the definitions do not pass: the benchmark must time a clean run.
    """
    command = [sys.executable, "-m", "runtime.cli", "check", "--definitions", str(definitions)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    env = {**os.environ, "PLINTH_SECRET_KEY": "bench"}  # no key file written beside the repo
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        sys.exit(f"plinth check failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=1000)
    parser.add_argument("--roles", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="plinth-bench-") as tmp:
        definitions = Path(tmp) / "definitions"
        generate(definitions, args.entities, args.roles)
        time_check(definitions)  # warm-up: bytecode and file caches
        runs = [time_check(definitions) for _ in range(args.runs)]
    wall = [w for w, _ in runs]
    cpu = [c for _, c in runs]
    median = statistics.median(wall)
    print(f"plinth check: {args.entities} entities x 10 fields, {args.roles} roles")
    print(f"runs: {args.runs} (after one warm-up run)")
    print(f"wall: min {min(wall):.3f} s  median {median:.3f} s")
    print(f"cpu:  min {min(cpu):.3f} s  median {statistics.median(cpu):.3f} s  (user + system)")
    ratio = median / TARGET_SECONDS
    print(f"target {TARGET_SECONDS:.1f} s: the median wall time is {ratio:.0%} of it")
    return 0 if median < TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
