"""Benchmark `plinth plan` on 1,000 entities against an up-to-date database (issue 5: under
5 s on this machine).

Generates 1,000 entities (10 fields each: strings, text, decimal, integer with min/max, enum,
date, boolean, two references; unique and composite indexes) into a temporary folder, runs
`plinth migrate` once, then times `python -m runtime.cli plan` as a whole process (start-up,
loading and checking the definitions, building the tables, reading the applied schema,
comparing) and checks that it answers "up to date". Prints wall-clock and CPU time; exits 1
when the median wall time misses the target.

    uv run python bench/bench_plan.py [--entities 1000] [--runs 5] [--database-url URL]
                                      [--bytecode] [--step 1000]

`--step N` migrates N entities at a time, as a project that grew would have (PostgreSQL
locks every table one migration creates: a thousand at once needs a larger
max_locks_per_transaction than the default).

With PYTHONDONTWRITEBYTECODE=1 in the environment (as in this sandbox) every run compiles
every module it imports; `--bytecode` lets the warm-up run write the bytecode cache, as an
installed application would have it.
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
TARGET_SECONDS = 5.0
UP_TO_DATE = "nothing to change: the database is up to date"


def entity_yaml(number: int) -> str:
    name = f"E{number:04d}"
    parent = f"E{number // 2:04d}" if number else name  # E0000 refers to itself
    sibling = f"E{max(number - 1, 0):04d}"
    return "\n".join(
        [
            f"entity: {name}",
            f"module: m{number % 20}",
            'display: "{{ title }}"',
            "fields:",
            "  title: {type: string, max_length: 120, required: true}",
            "  code: {type: string, max_length: 20, unique: true}",
            "  notes: {type: text}",
            "  amount: {type: decimal, digits: 12, places: 2, min: 0, default: 0}",
            "  quantity: {type: integer, min: 1, max: 1000, default: 1}",
            "  status: {type: enum, choices: [draft, open, done], default: draft}",
            "  due_on: {type: date}",
            "  active: {type: boolean, default: true}",
            f"  parent: {{type: reference, to: {parent}, on_delete: set_null}}",
            f"  sibling: {{type: reference, to: {sibling}, on_delete: restrict}}",
            "indexes:",
            "  - {fields: [status, due_on]}",
            "",
        ]
    )


def generate(folder: Path, entities: int, start: int = 0) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(start, entities):
        (folder / f"e{number:04d}.yaml").write_text(entity_yaml(number))


def plinth(env: dict[str, str], *args: str) -> tuple[float, float, str]:
    """Run `plinth ARGS`: (wall seconds, CPU seconds of the child, stdout)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "runtime.cli", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        sys.exit(f"plinth {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, result.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entities", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database-url", help="default: a new SQLite file")
    parser.add_argument("--bytecode", action="store_true", help="allow a bytecode cache")
    parser.add_argument("--step", type=int, help="entities per migration (default: all)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        url = args.database_url or f"sqlite:///{work / 'bench.sqlite3'}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("PLINTH_")}
        if args.bytecode:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
        env |= {
            "PLINTH_DATABASE_URL": url,
            "PLINTH_SECRET_KEY": "bench-secret-key-that-is-long-enough-for-hs256",
            "PLINTH_DEFINITIONS": str(work / "definitions"),
            "PLINTH_MIGRATIONS": str(work / "migrations"),
        }
        step = args.step or args.entities
        for start in range(0, args.entities, step):
            end = min(start + step, args.entities)
            generate(work / "definitions", end, start)
            wall, _, _ = plinth(env, "migrate")
            print(f"migrate (entities {start} to {end - 1}): {wall:.1f} s")
        walls, cpus = [], []
        plinth(env, "plan")  # warm-up: file-system caches, compiled bytecode
        for _ in range(args.runs):
            wall, cpu, output = plinth(env, "plan")
            if output.strip() != UP_TO_DATE:
                sys.exit(f"expected {UP_TO_DATE!r}, got:\n{output[:2000]}")
            walls.append(wall)
            cpus.append(cpu)
    median = statistics.median(walls)
    cache = "with" if args.bytecode or not os.environ.get("PYTHONDONTWRITEBYTECODE") else "no"
    print(
        f"plinth plan, {args.entities} entities, up to date, {cache} bytecode cache: "
        f"min {min(walls):.2f} s, median {median:.2f} s (CPU {statistics.median(cpus):.2f} s), "
        f"{median / TARGET_SECONDS:.0%} of the {TARGET_SECONDS:.0f} s target"
    )
    return 0 if median < TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
