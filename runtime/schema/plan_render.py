"""`plinth plan` output: the change grouped by entity, each step marked `+` (added), `-`
(removed) or `~` (changed), destructive and narrowing steps flagged with their measured
data impact; or the same as JSON."""

from __future__ import annotations

import json
from typing import Any

from runtime.schema.impact import Impact
from runtime.schema.plan import Plan

UP_TO_DATE = "nothing to change: the database is up to date"
PLATFORM = "Plinth platform tables"


def marker(kind: str) -> str:
    if kind.startswith(("create", "add")):
        return "+"
    if kind.startswith("drop"):
        return "-"
    return "~"


def step_line(impact: Impact) -> str:
    step = impact.step
    line = f"{marker(step.kind)} {step.text}"
    if step.risk:
        line += f"  [{step.risk}: {impact.phrase}]"
    elif step.probe is not None and impact.count:
        line += f"  ({impact.phrase})"
    return line


def _groups(impacts: list[Impact]) -> dict[str, list[Impact]]:
    groups: dict[str, list[Impact]] = {}
    for impact in impacts:
        table = impact.change.new or impact.change.old
        heading = impact.change.key if table is not None and table.entity else PLATFORM
        groups.setdefault(heading, []).append(impact)
    return groups


def refusal_lines(plan: Plan) -> list[str]:
    return [f"{i.change.label}: {i.step.text} — {i.phrase}" for i in plan.refused]


def render_text(plan: Plan) -> str:
    lines = []
    if plan.pending:
        lines.append(
            f"{len(plan.pending)} migration file(s) written but not applied yet "
            f"(migrate applies them first): {', '.join(plan.pending)}"
        )
    if not plan.impacts:
        return "\n".join([*lines, UP_TO_DATE])
    steps = len(plan.impacts)
    lines.append(f"Schema changes ({plan.engine}): {steps} step{'s' if steps != 1 else ''}")
    for heading, impacts in _groups(plan.impacts).items():
        lines += ["", heading]
        lines += [f"  {step_line(i)}" for i in impacts]
    refused = plan.refused
    if refused:
        lines += [
            "",
            f"{len(refused)} step(s) drop or narrow data: migrate refuses them "
            "unless --allow-destructive",
        ]
    return "\n".join(lines)


def render_json(plan: Plan) -> str:
    """Stable to diff in review: sorted keys, the definitions' order, nothing of the moment."""
    groups: list[dict[str, Any]] = []
    for heading, impacts in _groups(plan.impacts).items():
        groups.append({"entity": heading, "steps": [_step_json(i) for i in impacts]})
    data = {
        "engine": plan.engine,
        "up_to_date": not plan.impacts and not plan.pending,
        "pending": plan.pending,
        "changes": groups,
        "refused": len(plan.refused),
    }
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True)


def _step_json(impact: Impact) -> dict[str, Any]:
    step = impact.step
    table = impact.change.new or impact.change.old
    return {
        "table": table.name if table else None,
        "kind": step.kind,
        "field": step.field,
        "text": step.text,
        "risk": step.risk,
        "impact": (
            {"count": impact.count, "text": impact.phrase} if step.probe is not None else None
        ),
        "refused": impact.refused,
    }
