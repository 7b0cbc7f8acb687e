"""Keyset pages, on SQLite and PostgreSQL: walking a list page by page gives every row once
in the order of its sort (NULL greatest, text by code point, through references too), also
while rows are inserted and deleted between pages; a deep page reads after its key instead
of counting an OFFSET; sorts obey the same field rules as filters; count=estimate."""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from decimal import Decimal
from typing import Any

import pytest

from runtime.access import Principal
from runtime.service import ListQuery, ValidationFailed
from tests.service.lab import Lab, open_lab

TITLES = ["apple", "Banana", "École", "zeta", "apple", "ÆON", "banana"]


async def _world(lab: Lab, count: int) -> list[dict[str, Any]]:
    """`count` samples whose fields repeat and are often NULL, with contacts and companies,
    as Python values (the expected order is computed from these)."""
    s, rng = lab.service, random.Random(count)
    companies = [
        (await s.create(lab.a, "Company", {"name": n}))["id"] for n in ("Acme", "acme", "Zed")
    ]
    contacts = []
    for i, name in enumerate(["Ann", "bob", "Cy", "Ann"]):
        company = companies[i % 3] if i != 2 else None
        created = await s.create(lab.a, "Contact", {"name": name, "company": company})
        contacts.append({"id": created["id"], "name": name, "company": company})
    names = dict(zip(companies, ("Acme", "acme", "Zed"), strict=True))
    rows = []
    for i in range(count):
        pick = rng.choice
        values = {
            "title": pick(TITLES),
            "quantity": pick([None, 1, 2, 2, 5]),
            "amount": pick([None, Decimal("1.50"), Decimal("-3.25")]),
            "ratio": pick([None, 0.5, -1.25]),
            "flag": pick([None, True, False]),
            "day": pick([None, dt.date(2024, 1, 2), dt.date(1999, 12, 31)]),
            "at": pick([None, dt.datetime(2024, 3, 31, 2, 30, i % 3, tzinfo=dt.UTC)]),
            "kind": pick([None, "alpha", "gamma"]),
        }
        contact = pick([None, *contacts])
        payload = {
            k: (str(v) if isinstance(v, Decimal | dt.date) else v) for k, v in values.items()
        }
        if isinstance(values["at"], dt.datetime):
            payload["at"] = values["at"].isoformat()
        created = await s.create(lab.a, "Sample", {**payload, "contact": contact and contact["id"]})
        company = contact["company"] if contact else None
        values |= {
            "id": uuid.UUID(created["id"]),
            "contact.name": contact["name"] if contact else None,
            "contact.company.name": names[company] if company else None,
        }
        rows.append(values)
    return rows


def _expected(rows: list[dict[str, Any]], sort: list[str]) -> list[str]:
    """The order the API promises: each key NULL-greatest, then `id`."""
    ordered = sorted(rows, key=lambda r: r["id"])
    for key in reversed(sort):
        name = key.removeprefix("-")
        ordered.sort(
            key=lambda r, n=name: (r[n] is None, r[n] if r[n] is not None else 0),
            reverse=key.startswith("-"),
        )
    return [str(r["id"]) for r in ordered]


async def _walk(lab: Lab, sort: list[str] | None, limit: int, **more: Any) -> list[str]:
    seen, after = [], None
    while True:
        page = await lab.service.page(
            lab.a, "Sample", ListQuery(sort=sort, limit=limit, after=after, fields=["id"], **more)
        )
        seen += [r["id"] for r in page.rows]
        if page.following is None:
            return seen
        after = json.loads(json.dumps(page.following))  # as a cursor carries it


SORTS = [
    ["title"],
    ["-title"],
    ["quantity", "-title"],
    ["-flag", "day"],
    ["at"],
    ["-amount"],
    ["ratio", "-kind"],
    ["contact.name"],
    ["-contact.company.name", "title"],
]


async def test_every_sort_walks_every_row_once_in_order(lab_url: str) -> None:
    async with open_lab(lab_url) as lab:
        rows = await _world(lab, 40)
        for sort in SORTS:
            walked = await _walk(lab, sort, 3)
            assert walked == _expected(rows, sort), sort
        whole = await lab.service.page(lab.a, "Sample", ListQuery(limit=500, fields=["id"]))
        assert await _walk(lab, None, 7) == [r["id"] for r in whole.rows]  # -created_at
        assert sorted(await _walk(lab, ["-id"], 6)) == sorted(str(r["id"]) for r in rows)


async def test_pages_are_stable_under_inserts_and_deletes(lab_url: str) -> None:
    async with open_lab(lab_url) as lab:
        s, rng = lab.service, random.Random(7)
        original = []
        for _ in range(60):
            values = {"title": "t", "quantity": rng.choice([None, 1, 2, 3])}
            original.append((await s.create(lab.a, "Sample", values))["id"])
        for sort in (["quantity"], ["-quantity", "-title"], None):
            deleted: set[str] = set()
            seen: list[str] = []
            after = None
            while True:
                page = await s.page(lab.a, "Sample", ListQuery(sort=sort, limit=7, after=after))
                seen += [r["id"] for r in page.rows]
                if page.following is None:
                    break
                after = page.following
                for _ in range(3):
                    values = {"title": "new", "quantity": rng.choice([None, 0, 2, 9])}
                    await s.create(lab.a, "Sample", values)
                alive = [i for i in original if i not in deleted]
                for gone in rng.sample(alive, 2):
                    await s.delete(lab.a, "Sample", gone)
                    deleted.add(gone)
            assert len(seen) == len(set(seen)), f"{sort}: a row came twice"
            kept = set(original) - deleted
            assert kept <= set(seen), f"{sort}: {len(kept - set(seen))} rows skipped"
            original = [i for i in original if i not in deleted]


async def test_long_text_keys_travel_as_a_prefix_and_never_skip_a_row(lab_url: str) -> None:
    """A body of 1,000 characters is too long for a cursor: while the page's last row exists
    its whole value is read back; once it is deleted, the prefix bounds the next page."""
    async with open_lab(lab_url) as lab:
        s, rows = lab.service, []
        for body in ["é" * 500 + f"{i:03d}" + "x" * 500 for i in range(9)] + [None, "short"]:
            created = await s.create(lab.a, "Sample", {"title": "t", "body": body})
            rows.append({"id": uuid.UUID(created["id"]), "body": body})
        for sort in (["body"], ["-body"]):
            page = await s.page(lab.a, "Sample", ListQuery(sort=sort, limit=3))
            assert {"prefix": "é" * 64} in page.following[1]
            assert await _walk(lab, sort, 2) == _expected(rows, sort)
            rest = await s.page(
                lab.a, "Sample", ListQuery(sort=sort, limit=500, after=page.following)
            )
            await s.delete(lab.a, "Sample", page.rows[-1]["id"])
            after_gone = await s.page(
                lab.a, "Sample", ListQuery(sort=sort, limit=500, after=page.following)
            )
            assert {r["id"] for r in rest.rows} <= {r["id"] for r in after_gone.rows}
            rows = [r for r in rows if str(r["id"]) != page.rows[-1]["id"]]


async def test_a_deep_page_starts_after_its_key_without_an_offset(
    lab_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    async with open_lab(lab_url) as lab:
        for i in range(30):
            await lab.service.create(lab.a, "Sample", {"title": f"deep {i}", "quantity": i})
        first = await lab.service.page(lab.a, "Sample", ListQuery(sort=["quantity"], limit=25))
        engine = lab.registry.engine
        engine.log_queries = True
        try:
            capsys.readouterr()
            deep = await lab.service.page(
                lab.a, "Sample", ListQuery(sort=["quantity"], limit=25, after=first.following)
            )
            sql = capsys.readouterr().out
        finally:
            engine.log_queries = False
    assert [r["quantity"] for r in deep.rows] == list(range(25, 30))
    assert "OFFSET" not in sql.upper()
    assert '"sample"."quantity" > ' in sql and '"sample"."id" > ' in sql, sql


async def test_sorts_follow_the_rules_of_filters(lab_url: str) -> None:
    async with open_lab(lab_url) as lab:
        s = lab.service
        await s.create(lab.a, "Sample", {"title": "x"})
        for sort, words in [
            (["secret"], "has no field 'secret'"),  # hidden: as if it did not exist
            (["contact.nope"], "Contact has no field 'nope'"),
            (["owner.password"], "has no field 'password'"),
            (["data"], "json field: it cannot be sorted on"),
            (["title", "-title"], "named twice"),
            (["title"] * 9, "at most 8 keys"),
        ]:
            with pytest.raises(ValidationFailed, match=words):
                await s.page(lab.a, "Sample", ListQuery(sort=sort))
        page = await s.page(
            lab.a, "Sample", ListQuery(sort=["owner.email", "-contact.company.region.name"])
        )
        assert len(page.rows) == 1


@pytest.mark.parametrize(
    "after",
    [
        ["-created_at,id", ["2024-01-01T00:00:00Z", "not a uuid"]],
        ["-created_at,id", ["yesterday", str(uuid.uuid4())]],
        ["-created_at,id", [None, str(uuid.uuid4())]],
        ["-created_at,id", [{"a": 1}, str(uuid.uuid4())]],
        ["-created_at,id", ["2024-01-01T00:00:00Z"]],
        ["title,id", ["a", str(uuid.uuid4())]],
        "not a list",
    ],
)
async def test_values_that_do_not_fit_the_sort_are_a_400_naming_the_cursor(
    lab_url: str, after: Any
) -> None:
    async with open_lab(lab_url) as lab:
        with pytest.raises(ValidationFailed) as caught:
            await lab.service.page(lab.a, "Sample", ListQuery(after=after))
    assert caught.value.status == 400
    assert [e.field for e in caught.value.errors] == ["cursor"]


async def test_a_cursor_value_past_the_columns_range_is_a_400(lab_url: str) -> None:
    async with open_lab(lab_url) as lab:
        after = ["quantity,id", [2**63 + 1, str(uuid.uuid4())]]
        with pytest.raises(ValidationFailed, match="cursor"):
            await lab.service.page(lab.a, "Sample", ListQuery(sort=["quantity"], after=after))


async def test_count_estimate_is_the_planners_on_postgresql_and_exact_on_sqlite(
    lab_url: str,
) -> None:
    async with open_lab(lab_url) as lab:
        for i in range(5):
            await lab.service.create(lab.a, "Sample", {"title": f"c {i}", "quantity": i})
        count, exact = await lab.service.estimate_count(
            lab.a, "Sample", ListQuery(filter={"quantity": {"gte": 2}})
        )
        other = Principal(tenant_id=lab.b.tenant_id, actor="b", roles=frozenset({"owner"}))
        nothing, _ = await lab.service.estimate_count(
            other, "Sample", ListQuery(filter={"title": "zzz"})
        )
    if lab_url.startswith("sqlite"):
        assert (count, exact, nothing) == (3, True, 0)
    else:
        assert exact is False and isinstance(count, int) and count >= 0
