"""`$today` is the date in platform.yaml's `timezone` (issue 16): in a field's default, in a
query's or a role's filter, and in a workflow's `when` and action values — never UTC's date
when the platform is elsewhere."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from runtime.access import Principal
from runtime.service import ListQuery
from tests.workflows.lab import lab, write_definitions


def _zone_off_utc() -> str:
    """A timezone whose date is not UTC's right now (at any hour one of the two is off)."""
    utc = dt.datetime.now(dt.UTC).date()
    for zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago"):  # UTC+14, UTC-11
        if dt.datetime.now(ZoneInfo(zone)).date() != utc:
            return zone
    raise AssertionError("no zone off UTC's date")


DEFINITIONS = {
    "entities/task.yaml": """\
        entity: Task
        fields:
          title: {type: string, required: true}
          due:   {type: date, default: $today}
          noted: {type: date}
        """,
    "roles/planner.yaml": """\
        role: planner
        permissions:
          Task: {read: {due: {lte: $today}}, create: true}
        """,
    "workflows/stamp.yaml": """\
        workflow: stamp
        on: {event: created, entity: Task}
        when: {due: {eq: $today}}
        do:
          - update: {noted: $today}
        """,
}


async def test_today_is_the_platforms_date(tmp_path: Path, sqlite_url: str) -> None:
    zone = _zone_off_utc()
    files = {**DEFINITIONS, "platform.yaml": f"timezone: {zone}\n"}
    definitions = write_definitions(tmp_path / "definitions", files)
    async with lab(sqlite_url, tmp_path, definitions) as site:
        today = dt.datetime.now(ZoneInfo(zone)).date()
        utc_today = dt.datetime.now(dt.UTC).date()
        assert today != utc_today  # (the test can tell one from the other)
        service, owner = site.service, site.owner
        task = await service.create(owner, "Task", {"title": "default"})
        assert task["due"] == today.isoformat()

        other = await service.create(owner, "Task", {"title": "utc", "due": utc_today.isoformat()})
        # the planner reads tasks due today or earlier in the platform's timezone
        planner = Principal(tenant_id=site.tenant, actor="p", roles=frozenset({"planner"}))
        seen = {row["title"] for row in await service.list(planner, "Task")}
        assert seen == {"default"} | ({"utc"} if utc_today < today else set()), (zone, today)
        found = await service.list(owner, "Task", ListQuery(filter={"due": {"eq": "$today"}}))
        assert [row["title"] for row in found] == ["default"]

        await site.drain()  # the workflow: `when` and the action value read the same date
        stamped = await service.get(owner, "Task", task["id"])
        assert stamped["noted"] == today.isoformat()
        assert (await service.get(owner, "Task", other["id"]))["noted"] is None
