"""An import's creates get the timeline entries and outbox events the write path gives one
create (`created_rows.CreatedRows` against `writes.change_rows`), byte for byte in their JSON,
for every field type; and new ids are time-ordered UUIDs."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from runtime.access import Principal
from runtime.database import engine_from_url
from runtime.definitions import load_project
from runtime.schema import build_registry
from runtime.service.created_rows import CreatedRows
from runtime.service.ids import new_id
from runtime.service.values import json_dumps, to_json
from runtime.service.writes import Change, change_rows

DEFINITIONS = Path(__file__).parent / "definitions"
TENANT = uuid.UUID("746c6391-4e1e-4686-848b-9a635a14a5c9")
USER = uuid.UUID("0b6f1f57-0c64-4f5e-a2a4-3e5d2f6a9b10")
STAMP = dt.datetime(2026, 12, 1, 19, 21, 30, 845229, tzinfo=dt.UTC)
# The columns each builder stamps itself (ids, times of writing): the rest must be equal.
OWN = {"id", "at", "created_at"}


def _sample(**values: Any) -> dict[str, Any]:
    row = {
        "title": "Ticket 0",
        "body": None,
        "quantity": 7,
        "amount": Decimal("10.50"),
        "ratio": -0.25,
        "flag": False,
        "day": dt.date(2026, 12, 31),
        "at": dt.datetime(2026, 12, 1, 21, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        "clock": dt.time(9, 30, 15),
        "mail": "ann@example.com",
        "site": "https://example.com/a?b=1",
        "token": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "kind": "beta",
        "data": '{"a": [1, "é"]}',
        "code": "AB-1",
        "contact": None,
        "owner": USER,
        "secret": "hush",
        "locked": None,
        "stage": "draft",
    }
    return (
        row
        | {
            "id": new_id(),
            "created_at": STAMP,
            "updated_at": STAMP,
            "created_by": USER,
            "updated_by": USER,
            "version": 1,
            "tenant_id": TENANT,
        }
        | values
    )


@pytest.mark.parametrize(
    "principal",
    [
        Principal.system(TENANT, "import"),
        Principal(TENANT, "ann@example.com", USER, "ann@example.com", roles=frozenset({"a"})),
    ],
    ids=["system", "user"],
)
@pytest.mark.parametrize(
    "row",
    [
        _sample(),
        _sample(at=dt.datetime(2026, 12, 1, 19, 0), amount=Decimal("1E+2"), ratio=1e-7),
        _sample(body="", quantity=None, flag=True, data="null", secret=None, owner=None),
    ],
    ids=["every type", "naive and odd numbers", "nulls"],
)
def test_the_rows_of_a_create_are_the_write_paths(
    principal: Principal, row: dict[str, Any]
) -> None:
    registry = build_registry(load_project(DEFINITIONS), engine_from_url("sqlite:///unused"))
    entity = registry.project.entities["Sample"]
    expected = change_rows(
        registry, principal, Change(entity, "created", values=row), row, "import:x"
    )
    got = CreatedRows(registry, principal, entity, "import:x").rows(row)
    assert [table for table, _ in got] == [registry.timeline, registry.outbox]
    assert [table for table, _ in got] == [table for table, _ in expected]
    for (_, mine), (_, theirs) in zip(got, expected, strict=True):
        assert list(mine) == list(theirs)  # the same columns in the same order
        assert {k: v for k, v in mine.items() if k not in OWN} == {
            k: v for k, v in theirs.items() if k not in OWN
        }
    changes = json.loads(got[0][1]["changes"])
    masked = {"old": "***", "new": "***"}
    assert changes.get("secret") == (masked if row["secret"] is not None else None)
    assert json.loads(got[1][1]["payload"])["record"]["id"] == str(row["id"])


def test_new_ids_are_time_ordered_uuids() -> None:
    first = new_id()
    later = [new_id() for _ in range(2000)]
    assert len({first, *later}) == 2001
    assert all(one.version == 7 and one.variant == uuid.RFC_4122 for one in later)
    assert uuid.UUID(str(first)) == first
    millis = int.from_bytes(first.bytes[:6])
    assert abs(millis - dt.datetime.now(dt.UTC).timestamp() * 1000) < 60_000
    time.sleep(0.002)
    assert new_id() > first  # a later millisecond sorts after


@pytest.mark.parametrize(
    "moment",
    [
        dt.datetime(2026, 12, 1, 19, 21, 30, 845229, tzinfo=dt.UTC),
        dt.datetime(2026, 12, 1, 19, 21, 30, tzinfo=dt.UTC),
        dt.datetime(2026, 12, 1, 19, 21, 30, 1),
        dt.datetime(1, 1, 1, 0, 0, tzinfo=dt.UTC),
        dt.datetime(9999, 12, 31, 23, 59, 59, 999999),
        dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.timezone(dt.timedelta(hours=-9, minutes=-30))),
        dt.datetime(2026, 1, 1, 0, 0, 0, 500, tzinfo=dt.timezone(dt.timedelta(seconds=3601))),
    ],
)
def test_a_moment_is_written_in_utc_with_z(moment: dt.datetime) -> None:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    expected = aware.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    assert to_json(moment) == expected
    assert json_dumps({"at": moment}) == json.dumps({"at": expected}, separators=(",", ":"))
