"""The data a step touches, counted on the live database; and, for a narrowing step allowed
with `--allow-destructive`, the UPDATE that makes the old values fit the new rule."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from piccolo.engine.base import Engine

from runtime.schema.diff import Probe, Step, TableChange
from runtime.schema.spec import Table, q, sql_literal


@dataclass(frozen=True)
class Impact:
    change: TableChange
    step: Step
    count: int | None  # None: nothing to count

    @property
    def refused(self) -> bool:
        """Needs --allow-destructive: always when destructive; when narrowing, only if some
        data does not fit the new rule."""
        if self.step.risk == "destructive":
            return True
        return self.step.risk == "narrowing" and bool(self.count)

    @property
    def phrase(self) -> str:
        return phrase(self.step.probe, self.count) if self.step.probe else ""


def _in_list(values: tuple[Any, ...]) -> str:
    return ", ".join(sql_literal(v) for v in values)


def condition(probe: Probe, column: str | None = None) -> str:
    """The rows a probe counts, as a WHERE condition (on `column`, default the probe's)."""
    c = q(column or probe.column or "")
    match probe.kind:
        case "values":
            return f"{c} IS NOT NULL"
        case "nulls":
            return f"{c} IS NULL"
        case "too_long":
            return f"length({c}) > {probe.limit[0]}"
        case "too_short":
            return f"length({c}) < {probe.limit[0]}"
        case "outside":
            low, high = probe.limit
            parts = ([f"{c} < {low}"] if low is not None else []) + (
                [f"{c} > {high}"] if high is not None else []
            )
            return " OR ".join(parts)
        case "not_in":
            return f"{c} IS NOT NULL AND {c} NOT IN ({_in_list(probe.limit)})"
        case "digits":
            digits, places = probe.limit
            return f"abs({c}) >= {10 ** (digits - places)} OR {c} <> round({c}, {places})"
    return "1 = 1"  # rows


def probe_sql(table: Table, probe: Probe) -> str:
    if probe.kind == "duplicates":
        columns = ", ".join(q(c) for c in probe.limit)
        present = " AND ".join(f"{q(c)} IS NOT NULL" for c in probe.limit)
        return (
            f"SELECT coalesce(sum(n), 0) AS n FROM (SELECT count(*) AS n FROM {table.qualified} "
            f"WHERE {present} GROUP BY {columns} HAVING count(*) > 1) AS d"
        )
    return f"SELECT count(*) AS n FROM {table.qualified} WHERE {condition(probe)}"


def phrase(probe: Probe, count: int | None) -> str:
    text = _phrase(probe, count)
    if not probe.note:
        return text
    verb, _, rest = probe.note.partition(" ")  # "get the default": "1 row gets the default"
    return f"{text} {verb}{'s' if count == 1 else ''} {rest}".rstrip()


def _phrase(probe: Probe, count: int | None) -> str:
    n = "?" if count is None else f"{count:,}"
    s = "" if count == 1 else "s"
    match probe.kind:
        case "rows":
            return f"{n} row{s}"
        case "values":
            return f"{n} row{s} hold{'s' if count == 1 else ''} a value"
        case "nulls":
            return f"{n} row{s} without a value"
        case "too_long":
            return f"{n} value{s} longer than {probe.limit[0]} characters"
        case "too_short":
            return f"{n} value{s} shorter than {probe.limit[0]} characters"
        case "outside":
            low, high = ("" if v is None else f"{v:g}" for v in probe.limit)
            return f"{n} value{s} outside [{low}, {high}]"
        case "not_in":
            return f"{n} value{s} not among the new choices"
        case "digits":
            return f"{n} value{s} that do not fit ({probe.limit[0]}, {probe.limit[1]})"
        case "duplicates":
            scope = " of their organization" if "tenant_id" in probe.limit else ""
            return f"{n} row{s} share their value with another row{scope}"
    return n


async def measure(engine: Engine[Any], changes: list[TableChange]) -> list[Impact]:
    """Every step with its measured count (None where the step has no probe)."""
    impacts = []
    for change in changes:
        for step in change.steps:
            count = None
            if step.probe is not None and change.old is not None:
                rows = await engine.run_ddl(probe_sql(change.old, step.probe))
                count = int(rows[0]["n"] or 0)
            impacts.append(Impact(change, step, count))
    return impacts


def fit_statements(table: Table, step: Step) -> list[str]:
    """The UPDATEs that make old values fit a narrowed rule (--allow-destructive): too long
    → cut, not among the choices → the default (or empty), out of range → empty."""
    probe, column = step.probe, step.field
    if probe is None or column is None:
        return []
    c, where = q(column), condition(probe, column)
    update = f"UPDATE {table.qualified} SET {c} = "
    match probe.kind:
        case "too_long":
            return [f"{update}substr({c}, 1, {probe.limit[0]}) WHERE {where}"]
        case "not_in":
            facts = found.field if (found := table.column(column)) else None
            default = facts.default if facts and facts.default in probe.limit else None
            return [f"{update}{sql_literal(default)} WHERE {where}"]
        case "too_short" | "outside":
            return [f"{update}NULL WHERE {where}"]
        case "digits":
            digits, places = probe.limit
            return [
                f"{update}NULL WHERE abs({c}) >= {10 ** (digits - places)}",
                f"{update}round({c}, {places}) WHERE {c} <> round({c}, {places})",
            ]
    return []


def backfill_statements(table: Table, step: Step) -> list[str]:
    """A field that becomes required with a default: empty values get the default."""
    if step.fill is None or step.field is None:
        return []
    c = q(step.field)
    return [f"UPDATE {table.qualified} SET {c} = {sql_literal(step.fill)} WHERE {c} IS NULL"]
