"""The filter grammar's central promise (SPEC §1.3, issue 6): ONE grammar, compiled to SQL and
evaluated in memory, with identical results.

A differential property test: hypothesis draws random filters (every operator, and/or/not
nesting, the shorthand, variables, paths through the depth-3 reference chain) with operands of
each field's type, over ~90 varied Sample records (NULLs everywhere, missing references,
non-ASCII text in every case, datetimes written in many UTC offsets, decimals, floats, …).
For each filter, the ids the database returns — straight from `compile_where`, and through
`RecordService.list` — must equal the ids of the records `evaluate` accepts in memory (records
loaded with their references by `RecordService.load`). On SQLite and on PostgreSQL. Written
as a workflow's `when` with every condition starting from `$record.<path>` or `$old.<path>`
(the record as the old record), the filter selects the same records in memory.

Examples per database: PLINTH_HYPOTHESIS_EXAMPLES (default 2000; a nightly run uses 20000).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import math
import os
import random
import uuid
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from runtime.access import Principal
from runtime.database import is_postgres
from runtime.definitions.model import Entity, Project
from runtime.filters import compile_where, evaluate, parse_filter
from runtime.filters.ast import Node, walk
from runtime.filters.evaluate import lookup
from runtime.filters.parse import is_variable
from runtime.filters.text import FOLD_SQL, fold
from runtime.schema.registry import Registry
from runtime.service import ListQuery, RecordService
from runtime.service.queries import resolve_path, typed
from tests.conftest import PG_ADMIN_DSN, pg_admin
from tests.service.lab import add_organization, lab_registry, migrate_lab

EXAMPLES = int(os.environ.get("PLINTH_HYPOTHESIS_EXAMPLES", "2000"))
SEED = int(os.environ.get("PLINTH_HYPOTHESIS_DATASET_SEED", "6"))

# Text that folds differently in naive implementations: accents, ß/ẞ, dotted and dotless I,
# the three sigmas, titlecase digraphs, ligatures, the Kelvin and Ångström signs, emoji,
# LIKE wildcards and backslashes (which must match literally), whitespace, the empty string.
TEXTS = [
    "École", "ÉCOLE", "école", "ecole", "Straße", "STRASSE", "straße", "strasse", "ẞ",
    "İstanbul", "ISTANBUL", "istanbul", "ıi", "Iı", "İ", "ΟΔΥΣΣΕΥΣ", "Οδυσσεύς", "οδυσσευς",  # noqa: RUF001
    "ΣΊΣΥΦΟΣ", "σίσυφος", "ΑΣ", "ας", "ασ", "Σ", "ς", "ǅemal", "ǄEMAL", "ǆemal", "ﬁne", "FINE",  # noqa: RUF001
    "K", "k", "Å", "å", "Ångström", "ÆØÅ", "æøå", "Ωmega", "ωmega", "😀", "party 😀🎉",
    "🎉 PARTY", "a%b_c", "50%", "under_score", "back\\slash", "quote'd", 'dq"x', "tab\tsep",
    "new\nline", "  padded  ", "Plain", "plain", "PLAIN text", "Zürich", "ZÜRICH", "", " ",
    "$", "$5", "US$ 5",
]  # fmt: skip
MAILS = ["ann@example.com", "Émile@Exemple.fr", "bob+tag@example.org", "zoë@straße.de", "x@y.z"]
URLS = [
    "https://example.com/", "https://example.com/Straße?q=1", "http://exemple.fr/École",
    "https://xn--strae-oqa.de/a%20b", "HTTPS://EXAMPLE.COM/UPPER",
]  # fmt: skip
OFFSETS = [
    dt.timezone(dt.timedelta(hours=h, minutes=m))
    for h, m in [(0, 0), (2, 0), (-5, 0), (5, 45), (-3, -30), (14, 0), (-12, 0), (9, 30)]
]
INSTANTS = [
    dt.datetime(2024, 3, 31, 0, 30, tzinfo=dt.UTC),  # a DST night in Europe
    dt.datetime(2024, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC),
    dt.datetime(2000, 1, 1, tzinfo=dt.UTC),
    dt.datetime(2024, 2, 29, 12, 0, 0, 500000, tzinfo=dt.UTC),
    dt.datetime(1999, 12, 31, 23, 0, tzinfo=dt.UTC),
]
AMOUNTS = ["0.00", "0.01", "-0.01", "1.00", "1.10", "12.34", "-12.34", "999999.99", "-0.50"]
RATIOS = [0.0, -0.0, 0.1, 0.2, 0.30000000000000004, 1 / 3, -2.5, 1000.0, -1000.0, 5e-324, 1e-300]
ROOT_PATHS = ["contact", "contact.company", "contact.company.region", "owner"]
# Every path a generated filter may take: the fields of Sample (all but the hidden `secret`),
# its system columns, and paths through the depth-3 chain and to the User table.
PATHS = [
    "title", "body", "quantity", "amount", "ratio", "flag", "day", "at", "clock", "mail", "site",
    "token", "kind", "data", "code", "contact", "owner", "locked", "stage",
    "id", "tenant_id", "created_at", "updated_at", "created_by", "version",
    "contact.name", "contact.id", "contact.version", "contact.created_at", "contact.company",
    "contact.company.name", "contact.company.region", "contact.company.region.name",
    "contact.company.region.id", "contact.company.region.version", "owner.email", "owner.id",
]  # fmt: skip
ORDERED = ("integer", "decimal", "float", "date", "datetime", "time", "string", "text",
           "email", "url", "enum", "uuid")  # fmt: skip
TEXTUAL = ("string", "text", "email", "url", "enum")
TEXT_OPS = ("contains", "icontains", "startswith", "endswith")


# -- the dataset -----------------------------------------------------------------------------


@dataclasses.dataclass
class Lab:
    loop: asyncio.AbstractEventLoop
    registry: Registry
    service: RecordService
    principal: Principal
    records: list[dict[str, Any]]  # tenant A's Samples, references loaded
    variables: dict[str, Any]
    pools: dict[str, list[Any]]  # path → the non-null values the records hold there

    @property
    def project(self) -> Project:
        return self.registry.project

    @property
    def sample(self) -> Entity:
        return self.project.entities["Sample"]

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)


def _maybe(rng: random.Random, make, none: float = 0.3) -> Any:
    return None if rng.random() < none else make()


def _text(rng: random.Random) -> str:
    if rng.random() < 0.7:
        return rng.choice(TEXTS)
    return " ".join(rng.choice(TEXTS) for _ in range(rng.randint(2, 3)))


def _named(rng: random.Random) -> str:
    """Text for a required field (not blank)."""
    text = _text(rng)
    return text if text.strip() else "Acme"


def _instant(rng: random.Random) -> dt.datetime:
    if rng.random() < 0.5:
        base = rng.choice(INSTANTS)
    else:
        seconds = rng.randint(0, 40 * 365 * 86400)
        base = dt.datetime(1995, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=seconds)
        base = base.replace(microsecond=rng.choice([0, 0, 1, 500000, 999999]))
    return base.astimezone(rng.choice(OFFSETS))


def _sample_values(rng: random.Random, n: int, refs: dict[str, list[str]]) -> dict[str, Any]:
    """One Sample's input, as an API client would send it; about a third of it null."""
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    amount = rng.choice(AMOUNTS), str(Decimal(rng.randint(-99999999, 99999999)).scaleb(-2))
    ratio = rng.choice(RATIOS), rng.uniform(-1e3, 1e3)
    day = dt.date(1999, 12, 31) + dt.timedelta(days=rng.choice([0, 1, 60, 366, 9000]))
    day = day if rng.random() < 0.5 else dt.date(1995, 1, 1) + dt.timedelta(rng.randint(0, 14000))
    clock = dt.time(
        rng.choice([0, 9, 12, 23]),
        rng.choice([0, 30, 59]),
        rng.choice([0, 0, 59]),
        rng.choice([0, 0, 0, 1, 999999]),
    )
    candidates = {
        "title": _named(rng),
        "body": _text(rng),
        "quantity": rng.choice([0, 1, 2, 10, 99, 100, 1000, 500]),
        "amount": amount[rng.random() < 0.5],
        "ratio": ratio[rng.random() < 0.5],
        "flag": rng.random() < 0.5,
        "day": day.isoformat(),
        "at": _instant(rng).isoformat(),
        "clock": clock.isoformat(),
        "mail": rng.choice(MAILS),
        "site": rng.choice(URLS),
        "token": rng.choice(refs["token"]),
        "kind": rng.choice(["alpha", "beta", "gamma"]),
        "data": rng.choice([{"a": 1}, [1, 2], {"x": "é"}, 0, True]),
        "code": f"{rng.choice(letters)}{rng.choice(letters)}-{n}",
        "contact": rng.choice(refs["contact"]),
        "owner": rng.choice(refs["owner"]),
        "secret": _text(rng),
        "locked": _text(rng),
    }
    return {
        name: value if name == "title" or rng.random() > 0.3 else None
        for name, value in candidates.items()
    }


async def _users(registry: Registry) -> list[dict[str, Any]]:
    user = registry.user
    rows = [
        {"id": uuid.uuid4(), "username": email, "email": email, "password": "$argon2-unusable"}
        for email in ("ann@example.com", "émile@exemple.fr", "zoë@example.org")
    ]
    for row in rows:
        await user.insert(user(**row, active=True, admin=False, superuser=False)).run()
    return rows


async def _build(registry: Registry, rng: random.Random) -> tuple[Principal, list[dict]]:
    """Tenant A: regions, companies, contacts and 90 Samples, written through the service by
    the system (so every value went through validation); then tenant B's 10 Samples."""
    service = RecordService(registry)
    engine = registry.engine
    tenant = await add_organization(registry, "lab-a")
    other = Principal.system(await add_organization(registry, "lab-b"), "test")
    system = Principal.system(tenant, "test")
    users = await _users(registry)

    async def create(entity: str, values: dict[str, Any]) -> str:
        return (await service.create(system, entity, values))["id"]

    async with engine.transaction():  # one commit: SQLite syncs the disk once
        regions = [
            await create("Region", {"name": name})
            for name in ("Nord", "Île-de-France", "İzmir", "ΣΑΜΟΣ", "straße", "Zürich")
        ]
        companies = []
        for _ in range(9):
            region = _maybe(rng, lambda: rng.choice(regions))
            companies.append(await create("Company", {"name": _named(rng), "region": region}))
        contacts = []
        for _ in range(14):
            company = _maybe(rng, lambda: rng.choice(companies))
            contacts.append(await create("Contact", {"name": _named(rng), "company": company}))
        refs = {
            "token": [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(8)],
            "contact": contacts,
            "owner": [str(user["id"]) for user in users],
        }
        samples = []
        for n in range(90):
            sample = await create("Sample", _sample_values(rng, n, refs))
            for name in ("submit", "approve"):
                if rng.random() < 0.4:
                    break
                await service.transition(system, "Sample", sample, name)
            samples.append(uuid.UUID(sample))
    # Rows written before a field became required, or before blank text counted as missing
    # (the columns stay nullable).
    table, region = registry.table("Sample"), registry.table("Region")
    await table.update({table.title: None}).where(table.id.is_in(samples[:4])).run()
    await table.update({table.title: ""}).where(table.id.is_in(samples[4:6])).run()
    await table.update({table.title: " "}).where(table.id.is_in(samples[6:7])).run()
    await region.update({region.name: None}).where(region.id == uuid.UUID(regions[-1])).run()
    # Another organization's rows, which no query of tenant A may return.
    async with engine.transaction():
        for title in TEXTS[:10]:
            await service.create(other, "Sample", {"title": title or "x", "quantity": 1})

    principal = Principal(
        tenant_id=tenant,
        actor="test",
        user_id=users[0]["id"],
        email=users[0]["email"],
        roles=frozenset({"owner"}),
    )
    rows = await table.select().where(table.tenant_id == tenant).order_by(table.id).run()
    sample = registry.project.entities["Sample"]
    records = [await service.load(sample, row, set(ROOT_PATHS)) for row in rows]
    return principal, records


@pytest.fixture
def lab(database_url: str, tmp_path: Path) -> Iterator[Lab]:
    """Tenant A's ~90 Samples (and tenant B's 10) in a freshly migrated database, on one
    event loop that the whole test uses."""
    migrate_lab(database_url, tmp_path)
    loop = asyncio.new_event_loop()
    registries = lab_registry(database_url)
    try:
        registry = loop.run_until_complete(registries.__aenter__())
        principal, records = loop.run_until_complete(_build(registry, random.Random(SEED)))
        # $now sits inside the data so that comparisons with it cut the records in two.
        variables = principal.variables() | {
            "$now": dt.datetime(2012, 6, 1, 12, tzinfo=dt.UTC),
            "$today": dt.date(2012, 6, 1),
        }
        pools = {path: [v for r in records if (v := lookup(r, path)) is not None] for path in PATHS}
        yield Lab(loop, registry, RecordService(registry), principal, records, variables, pools)
    finally:
        loop.run_until_complete(registries.__aexit__(None, None, None))
        loop.close()


# -- strategies ------------------------------------------------------------------------------


def _operators(kind: str, reference: bool) -> list[str]:
    if kind == "json":
        return ["isnull"]
    ops = ["eq", "ne", "in", "nin", "isnull"]
    if kind in ORDERED and not reference:
        ops += ["gt", "gte", "lt", "lte", "between"]
    if kind in TEXTUAL:
        ops += list(TEXT_OPS)
    return ops


CASES = [str, str.upper, str.lower, str.swapcase, str.casefold, str.title]
INDEX = st.integers(0, 63)
# Any character text can hold (NUL and lone surrogates are refused: see the invalid filters).
ANY_CHARACTER = st.characters(codec="utf-8", exclude_characters="\x00")


def _text_operand(pool: list[str]) -> st.SearchStrategy[str]:
    """Pieces of stored text in other cases, text from the list above, or any text."""
    sources, cases = st.sampled_from(pool or TEXTS), st.sampled_from(CASES)

    @st.composite
    def piece(draw: st.DrawFn) -> str:
        source = draw(sources)
        start = draw(INDEX) % (len(source) + 1)
        end = start + draw(INDEX) % (len(source) + 1 - start)
        return draw(cases)(source[start:end])

    drawn = st.text(ANY_CHARACTER, max_size=6).filter(lambda text: not is_variable(text))
    return st.one_of(piece(), st.sampled_from(TEXTS), drawn)


def _near(stored: st.SearchStrategy[Any], *steps: Any) -> st.SearchStrategy[Any]:
    """A stored value, or one a step away from it (steps: a delta, or a function)."""
    moves = st.sampled_from([None, *steps])

    @st.composite
    def near(draw: st.DrawFn) -> Any:
        value, step = draw(stored), draw(moves)
        if step is None:
            return value
        return step(value) if callable(step) else value + step

    return near()


def _spelled(instants: st.SearchStrategy[dt.datetime]) -> st.SearchStrategy[Any]:
    """An instant as the API may spell it: ISO 8601 in any offset, with 'Z', or a datetime."""
    zones = st.sampled_from(OFFSETS)
    forms = st.sampled_from(["offset", "offset", "Z", "datetime"])

    @st.composite
    def spelled(draw: st.DrawFn) -> Any:
        value, form, zone = draw(instants), draw(forms), draw(zones)
        if form == "Z":
            return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
        if form == "offset":
            return value.astimezone(zone).isoformat()
        return value

    return spelled()


def _value(lab: Lab, path: str, kind: str) -> st.SearchStrategy[Any]:
    """One operand of `path`'s type, as a filter in JSON or YAML would carry it."""
    pool = lab.pools[path]
    stored = st.sampled_from(pool) if pool else st.nothing()
    match kind:
        case "string" | "text" | "email" | "url":
            return st.one_of(stored, _text_operand(pool))
        case "enum":
            choices = [v for v, _ in resolve_path(lab.project, lab.sample, path).choices]
            return st.sampled_from([*choices, "delta", "ALPHA", ""])
        case "integer":
            number = st.one_of(stored, st.integers(-5, 1005), st.integers(-(2**31), 2**31 - 1))
            return st.one_of(number, number.map(str))
        case "decimal":
            # ≤ 11 significant digits: SQLite keeps decimals as REAL (15 digits exact).
            drawn = st.one_of(
                st.decimals(
                    min_value=Decimal("-99999999"),
                    max_value=Decimal("99999999"),
                    places=places,
                    allow_nan=False,
                    allow_infinity=False,
                )
                for places in (0, 2, 3)
            )
            value = st.one_of(_near(stored, Decimal("0.01"), Decimal("-0.001")), drawn)
            return st.one_of(value.map(str), value.map(float), value)
        case "float":
            up, down = (
                (lambda f: math.nextafter(f, math.inf)),
                (lambda f: -math.nextafter(-f, math.inf)),
            )
            value = st.one_of(
                _near(stored, up, down), st.floats(allow_nan=False, allow_infinity=False)
            )
            return st.one_of(value, value.map(repr))
        case "boolean":
            return st.one_of(st.booleans(), st.sampled_from(["true", "false"]))
        case "date":
            value = st.one_of(stored, st.dates())
            return st.one_of(value, value.map(dt.date.isoformat))
        case "datetime":
            near = _near(stored, dt.timedelta(microseconds=1), dt.timedelta(seconds=-1))
            # Any instant that exists in every offset (0001-01-01T00:00+05:00 has no UTC
            # time: refused, see the invalid filters).
            drawn = st.datetimes(
                min_value=dt.datetime(1, 1, 2),
                max_value=dt.datetime(9999, 12, 30),
                timezones=st.sampled_from(OFFSETS),
            )
            return _spelled(st.one_of(near, near, drawn))
        case "time":
            value = st.one_of(stored, st.times())
            return st.one_of(value, value.map(dt.time.isoformat))
        case "uuid":
            value = st.one_of(stored, st.uuids())
            return st.one_of(value.map(str), value)
        case "json":
            return st.nothing()  # only isnull applies
    raise AssertionError(f"no operands for {kind}")


VARIABLES = {
    "owner": ["$user.id"],
    "owner.id": ["$user.id"],
    "owner.email": ["$user.email"],
    "mail": ["$user.email"],
    "at": ["$now"],
    "created_at": ["$now"],
    "contact.created_at": ["$now"],
    "day": ["$today"],
    "tenant_id": ["$tenant.id"],
}


def _condition(lab: Lab, path: str) -> st.SearchStrategy[dict[str, Any]]:
    """`{path: {op: operand, …}}` (one or two operators), or the shorthand `{path: operand}`."""
    field = resolve_path(lab.project, lab.sample, path)
    kind = "uuid" if field.type == "reference" else field.type
    value = _value(lab, path, kind)
    if path in VARIABLES:
        value = st.one_of(value, st.sampled_from(VARIABLES[path]))
    listed = st.lists(st.one_of(value, st.none()), max_size=4)
    if kind in TEXTUAL:
        listed = st.one_of(listed, listed, listed, st.just("$user.roles"))
    bound = st.one_of(value, value, st.none())
    operands = {
        "isnull": st.booleans(),
        "in": listed,
        "nin": listed,
        "between": st.tuples(bound, bound).map(list),
        **{op: _text_operand(lab.pools[path]) for op in TEXT_OPS},
    }
    operators = _operators(kind, field.type == "reference")
    chosen = st.lists(st.sampled_from(operators), min_size=1, max_size=2, unique=True)
    shorthand = st.booleans()

    @st.composite
    def condition(draw: st.DrawFn) -> dict[str, Any]:
        ops = draw(chosen)
        spec = {op: draw(operands.get(op, value)) for op in ops}
        if ops == ["eq"] and draw(shorthand):
            return {path: spec["eq"]}  # the shorthand
        return {path: spec}

    return condition()


def filters(lab: Lab) -> st.SearchStrategy[dict[str, Any]]:
    """Conditions on every path, nested in and/or/not, or merged into one object (an AND)."""

    def merged(parts: list[dict[str, Any]]) -> dict[str, Any]:
        keys = [k for part in parts for k in part]
        if len(set(keys)) != len(keys):
            return {"and": parts}
        return {k: v for part in parts for k, v in part.items()}

    return st.recursive(
        st.one_of([_condition(lab, path) for path in PATHS]),
        lambda inner: st.one_of(
            st.lists(inner, min_size=1, max_size=3).map(lambda xs: {"and": xs}),
            st.lists(inner, min_size=1, max_size=3).map(lambda xs: {"or": xs}),
            inner.map(lambda x: {"not": x}),
            st.lists(inner, min_size=2, max_size=3).map(merged),
        ),
        max_leaves=8,
    )


# -- the property ----------------------------------------------------------------------------


def _explain(lab: Lab, raw: Any, node: Node, sql: set, memory: set) -> str:
    lines = [f"filter: {json.dumps(raw, default=str, ensure_ascii=False)}", f"typed: {node!r}"]
    for record in lab.records:
        if record["id"] in sql ^ memory:
            where = "SQL only" if record["id"] in sql else "memory only"
            values = {c.field: lookup(record, c.field) for c in walk(node)}
            lines.append(f"  {where}: {record['id']} {values!r}")
    return "\n".join(lines)


def _uses_clock(raw: Any) -> bool:
    return "$now" in json.dumps(raw, default=str) or "$today" in json.dumps(raw, default=str)


def _from_variable(raw: Any, head: str) -> Any:
    """The same filter with every condition starting from `head`: `{$old.title: x}`."""
    if isinstance(raw, list):
        return [_from_variable(item, head) for item in raw]
    if not isinstance(raw, dict):
        return raw
    out: dict[str, Any] = {}
    for key, spec in raw.items():
        if key in ("and", "or", "not"):
            out[key] = _from_variable(spec, head)
        else:
            out[f"{head}.{key}"] = spec
    return out


def _as_when(lab: Lab, raw: Any) -> set[uuid.UUID]:
    """The records the filter accepts as a `when` from `$record.<path>`, then `$old.<path>`."""
    accepted: list[set[uuid.UUID]] = []
    for head in ("$record", "$old"):
        when = parse_filter(_from_variable(raw, head), left_variables=True)
        node = typed(lab.project, lab.sample, when, lab.variables)
        accepted.append(
            {r["id"] for r in lab.records if evaluate(node, r, {**lab.variables, "$old": r})}
        )
    assert accepted[0] == accepted[1], raw
    return accepted[0]


@pytest.mark.long  # minutes: its module starts first (tests/parallel.py)
def test_sql_and_memory_agree_on_random_filters(lab: Lab) -> None:
    table = lab.registry.table("Sample")
    tenant = lab.principal.tenant_id
    outcomes: Counter[str] = Counter()
    engine = lab.registry.engine
    one_connection = contextlib.nullcontext if is_postgres(engine) else engine.transaction

    async def query(
        node: Node, raw: Any, through_service: bool
    ) -> tuple[set[uuid.UUID], set[uuid.UUID] | None]:
        """The ids `compile_where` selects, and those `RecordService.list` answers. On SQLite
        in one transaction, so that it opens one connection per example, not two."""
        async with one_connection():
            where = compile_where(table, node)
            rows = await table.select(table.id).where(table.tenant_id == tenant, where).run()
            if not through_service:
                return {row["id"] for row in rows}, None
            listed = await lab.service.list(
                lab.principal, "Sample", ListQuery(filter=raw, limit=500)
            )
        return {row["id"] for row in rows}, {uuid.UUID(row["id"]) for row in listed}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(raw=filters(lab), service=st.sampled_from([False, False, True]))
    def check(raw: dict[str, Any], service: bool) -> None:
        node = typed(lab.project, lab.sample, parse_filter(raw), lab.variables)
        memory = {r["id"] for r in lab.records if evaluate(node, r)}
        # A third of the filters also go through the service's list (unless they read the
        # clock: the service binds $now and $today to the real one).
        sql, listed = lab.run(query(node, raw, service and not _uses_clock(raw)))
        assert sql == memory, _explain(lab, raw, node, sql, memory)
        assert _as_when(lab, raw) == memory, raw
        if listed is not None:
            assert listed == memory, _explain(lab, raw, node, listed, memory)
        everything = len(memory) == len(lab.records)
        outcome = "none" if not memory else "all" if everything else "some"
        event(f"matches {outcome}")
        outcomes[outcome] += 1

    check()
    print(f"{sum(outcomes.values())} filters, matching {dict(outcomes)} of the records")
    assert sum(outcomes.values()) >= EXAMPLES, outcomes
    # The filters must cut the data, not only answer "nothing" or "everything".
    assert outcomes["some"] >= sum(outcomes.values()) // 3, outcomes


# -- text order under a linguistic collation -------------------------------------------------


@pytest.fixture
def icu_postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database whose default collation is ICU's en-US (where 'a' < 'B'),
    as a database created with LANG=en_US.UTF-8 would sort."""
    name = f"plinth_test_{uuid.uuid4().hex[:12]}"
    try:
        pg_admin(
            f'CREATE DATABASE "{name}" TEMPLATE template0 LOCALE_PROVIDER icu '
            "ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
        )
    except Exception as error:  # no PostgreSQL, or one built without ICU
        pytest.skip(f"cannot create an ICU database at {PG_ADMIN_DSN}: {error}")
    yield f"{PG_ADMIN_DSN.rsplit('/', 1)[0]}/{name}"
    pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.postgres
def test_text_orders_by_code_point_whatever_the_database_collation(
    icu_postgres_url: str, tmp_path: Path
) -> None:
    titles = ["a", "B", "b", "É", "e", "Z", "ä", "ab", "A b", "😀", "İ", "i"]
    migrate_lab(icu_postgres_url, tmp_path)

    async def run() -> list[str]:
        async with lab_registry(icu_postgres_url) as registry:
            service = RecordService(registry)
            system = Principal.system(await add_organization(registry, "icu"), "test")
            for title in titles:
                await service.create(system, "Sample", {"title": title, "body": title})
            table, sample = registry.table("Sample"), registry.project.entities["Sample"]
            rows = await table.select().run()
            wrong = []
            for path in ("title", "body"):
                for op in ("gt", "gte", "lt", "lte", "between"):
                    for operand in titles:
                        raw = {path: {op: [operand, "b"] if op == "between" else operand}}
                        node = typed(registry.project, sample, parse_filter(raw), {})
                        query = table.select(table.id).where(compile_where(table, node))
                        sql = {row["id"] for row in await query.run()}
                        if sql != {row["id"] for row in rows if evaluate(node, row)}:
                            wrong.append(json.dumps(raw, ensure_ascii=False))
            return wrong

    assert asyncio.run(run()) == []


@pytest.mark.postgres
def test_fold_is_postgresql_lower_on_every_code_point(postgres_url: str) -> None:
    """`fold` (memory, and SQLite's plinth_fold) and FOLD_SQL agree on each character, and on
    the sigmas wherever they stand in a word."""
    import asyncpg

    words = ["ΟΔΥΣΣΕΥΣ", "ΣΊΣΥΦΟΣ", "Σ", "ΑΣ.", "İSTANBUL", "ǅemal", "ẞ", "K Å"]

    async def run() -> tuple[list[tuple[int, str]], list[str]]:
        conn = await asyncpg.connect(postgres_url)
        try:
            folded = FOLD_SQL.format("chr(i)")
            rows = await conn.fetch(
                f"SELECT i, {folded} AS f FROM generate_series(1, 1114111) AS i "
                "WHERE i NOT BETWEEN 55296 AND 57343"  # surrogates are not characters
            )
            texts = await conn.fetch(
                f"SELECT {FOLD_SQL.format('w')} AS f FROM unnest($1::text[]) AS w", words
            )
        finally:
            await conn.close()
        return [(r["i"], r["f"]) for r in rows], [r["f"] for r in texts]

    characters, texts = asyncio.run(run())
    assert len(characters) == 1114111 - 2048
    assert [hex(i) for i, folded in characters if fold(chr(i)) != folded] == []
    assert texts == [fold(word) for word in words]
