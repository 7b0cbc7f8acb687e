"""Import through the service's rules: dry run, all or nothing, partial, upsert by key,
references by unique field, roles (write set, row rule), the tenant wall."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from runtime.service import ListQuery, outbox
from runtime.service.errors import Forbidden
from tests.transfer.lab import open_lab

DOC = Path(__file__).resolve().parents[2] / "docs" / "guides" / "import-export.md"
BAD_ROWS = {  # data row index (0-based) → (column, what makes it bad)
    17: ("priority", "9"),
    404: ("subject", ""),
    1234: ("amount", "12.345"),
    2999: ("due_on", "31/12/2026"),
    5000: ("done", "maybe"),
    7777: ("meta", "{not json"),
    9998: ("priority", "high"),
}


def tickets_csv(n: int, bad: dict[int, tuple[str, str]] | None = None) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["code", "subject", "priority", "done", "amount", "due_on", "meta"])
    for i in range(n):
        row = {"code": f"T-{i}", "subject": f"Ticket {i}", "priority": str(i % 3 + 1),
               "done": "false", "amount": "10.50", "due_on": "2026-12-31",
               "meta": '{"n": 1}'}  # fmt: skip
        if bad and i in bad:
            column, value = bad[i]
            row[column] = value
        writer.writerow(row.values())
    return out.getvalue()


async def test_dry_run_all_or_nothing_and_partial(db_url: str) -> None:
    text = tickets_csv(10_000, BAD_ROWS)
    async with open_lab(db_url) as lab:
        dry = await lab.load(lab.owner, text, dry_run=True)
        expected = sorted((i + 2, column) for i, (column, _) in BAD_ROWS.items())
        assert sorted((e.row, e.column) for e in dry.errors) == expected
        assert str(dry.errors[0]).startswith("row 19, column priority: ")
        documented = DOC.read_text().split("```text\n", 1)[1].split("```", 1)[0]
        assert set(documented.splitlines()) <= {str(e) for e in dry.errors}
        assert (dry.created, dry.committed) == (9_993, False)
        assert await lab.count(lab.owner) == 0

        default = await lab.load(lab.owner, text)
        assert (len(default.errors), default.committed) == (7, False)
        assert await lab.count(lab.owner) == 0

        partial = await lab.load(lab.owner, text, partial=True)
        assert (partial.created, len(partial.errors), partial.committed) == (9_993, 7, True)
        assert await lab.count(lab.owner) == 9_993
        timeline = lab.registry.timeline
        assert await timeline.count().where(timeline.entity == "Ticket").run() >= 9_993


async def test_the_same_file_twice_with_a_key_changes_nothing(db_url: str) -> None:
    text = tickets_csv(1_200)
    async with open_lab(db_url) as lab:
        first = await lab.load(lab.owner, text, key="code")
        assert (first.created, first.changed, first.errors) == (1_200, 0, [])
        second = await lab.load(lab.owner, text, key="code")
        assert (second.created, second.changed, second.unchanged) == (0, 0, 1_200)
        ids = [r["id"] for r in await lab.service.list(lab.owner, "Ticket", ListQuery(limit=500))]
        timeline = lab.registry.timeline
        entries = await timeline.count().where(timeline.record_id.is_in(ids)).run()
        assert entries == len(ids)  # one entry per row: the second run wrote none

        edited = text.replace("Ticket 7,", "Ticket seven,")
        third = await lab.load(lab.owner, edited, key="code")
        assert (third.created, third.changed, third.unchanged) == (0, 1, 1_199)
        (row,) = await lab.service.list(lab.owner, "Ticket", ListQuery(filter={"code": "T-7"}))
        assert row["subject"] == "Ticket seven"


async def test_references_by_id_or_unique_field_and_labels(db_url: str) -> None:
    async with open_lab(db_url) as lab:
        ada = await lab.service.create(lab.owner, "Contact", {"name": "Ada", "email": "ada@x.io"})
        theirs = await lab.service.create(lab.other, "Contact", {"name": "B", "email": "b@x.io"})
        text = (
            "Subject,contact.email,contact\n"
            "by email,ada@x.io,\n"
            f"by id,,{ada['id']}\n"
            f"their contact,,{theirs['id']}\n"
            "their email,b@x.io,\n"
            "unknown,nobody@x.io,\n"
        )
        report = await lab.load(lab.owner, text, partial=True)
        assert report.created == 2
        assert [(e.row, e.column) for e in report.errors] == [
            (4, "contact"), (5, "contact"), (6, "contact")
        ]  # fmt: skip
        # another organization's id is refused exactly like an unknown one
        assert report.errors[0].message == f"no Contact with id {theirs['id']}"
        rows = await lab.service.list(lab.owner, "Ticket", ListQuery(sort=["subject"]))
        assert [r["contact"] for r in rows] == [ada["id"], ada["id"]]


async def test_roles_write_set_and_row_rule(db_url: str) -> None:
    async with open_lab(db_url) as lab:
        with pytest.raises(Forbidden):
            await lab.load(lab.viewer, "subject\nhello\n")
        text = "subject,priority,secret\nok,2,\n"
        report = await lab.load(lab.agent, text)
        assert report.committed and report.created == 1
        refused = await lab.load(lab.agent, "subject,priority\ntoo high,5\nfine,1\n")
        assert [(e.row, e.column) for e in refused.errors] == [(2, None)]
        assert "do not allow you to create" in refused.errors[0].message
        outside = await lab.load(lab.agent, "subject,secret\nx,psst\n")
        assert not outside.committed and "secret" in outside.errors[0].message
        # an update by key obeys the row rule: the agent updates only what it created
        await lab.load(lab.owner, "code,subject\nOWN,owner's\n")
        theirs = await lab.load(lab.agent, "code,subject\nOWN,taken over\n", key="code")
        assert theirs.errors and not theirs.committed
        assert await lab.count(lab.agent) == 2


async def test_json_lines_and_bad_rows(db_url: str) -> None:
    async with open_lab(db_url) as lab:
        text = (
            '{"subject": "one", "meta": {"a": [1, 2]}, "done": true}\n'
            "not json\n"
            '{"subject": "two", "nope": 1}\n'
        )
        with pytest.raises(ValueError, match="nope"):
            await lab.load(lab.owner, text, fmt="ndjson")
        report = await lab.load(
            lab.owner, text.replace(', "nope": 1', ""), fmt="ndjson", partial=True
        )
        assert report.created == 2 and [(e.row, e.column) for e in report.errors] == [(2, None)]
        (one,) = await lab.service.list(lab.owner, "Ticket", ListQuery(filter={"subject": "one"}))
        assert one["meta"] == {"a": [1, 2]} and one["done"] is True


async def test_unique_values_taken_in_the_organization(db_url: str) -> None:
    """A create whose unique value another record of the organization holds is refused, in
    whichever batch it comes; the same value in another organization is no conflict."""
    async with open_lab(db_url) as lab:
        await lab.load(lab.other, "code,subject\nT-5,theirs\n")
        first = await lab.load(lab.owner, tickets_csv(2_500))
        assert first.committed and first.created == 2_500
        text = "code,subject\nNEW-1,fresh\nT-3,again\nT-2400,again\nT-5,again\n"
        again = await lab.load(lab.owner, text, partial=True)
        assert again.created == 1
        assert [(e.row, e.column, e.message) for e in again.errors] == [
            (3, "code", "another Ticket has code = 'T-3'"),
            (4, "code", "another Ticket has code = 'T-2400'"),
            (5, "code", "another Ticket has code = 'T-5'"),
        ]


@pytest.mark.parametrize("bad", ["T-300", "T-1700", "T-2400"], ids=["first part", "mid", "last"])
async def test_a_statement_that_fails_in_any_part_leaves_nothing(
    db_url: str, bad: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The INSERTs run while the next rows are built: one refused by the database (here an
    outbox event without its NOT NULL `event`) fails the import, wherever it comes, and the
    transaction leaves nothing; the next import on the same pool works."""
    event = outbox.event

    def spoiled(**kwargs: Any) -> dict[str, Any]:
        row = event(**kwargs)
        return row | {"event": None} if kwargs["payload"]["record"]["code"] == bad else row

    async with open_lab(db_url) as lab:
        timeline, events = lab.registry.timeline, lab.registry.outbox
        before = (await timeline.count().run(), await events.count().run())
        monkeypatch.setattr(outbox, "event", spoiled)
        with pytest.raises(Exception, match="event"):
            await lab.load(lab.owner, tickets_csv(2_500))
        monkeypatch.undo()
        assert await lab.count(lab.owner) == 0
        assert (await timeline.count().run(), await events.count().run()) == before
        again = await lab.load(lab.owner, tickets_csv(10))
        assert again.committed and await lab.count(lab.owner) == 10
