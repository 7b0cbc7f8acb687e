"""A string field turned into a file field: its column becomes the reference's TEXT column
(a step `plinth migrate` refuses while rows hold values: a plain string is no file), and its
old values show as no file."""

from __future__ import annotations

from pathlib import Path

from tests.schema.history import History
from tests.schema.inspect import columns

BEFORE = "entity: Paper\nmodule: lab\nfields:\n  title: {type: string}\n  doc: {type: string}\n"
AFTER = BEFORE.replace("doc: {type: string}", "doc: {type: file, accept: [application/pdf]}")


async def test_a_varchar_column_becomes_the_file_reference(
    database_url: str, tmp_path: Path
) -> None:
    h = History(database_url, tmp_path)
    h.write_files({"paper.yaml": BEFORE})
    h.run("migrate")
    async with h.service() as (service, system):
        paper = await service.create(system, "Paper", {"title": "t", "doc": "uploads/a.pdf"})
    h.write_files({"paper.yaml": AFTER})
    planned = h.run("plan").stdout
    assert "change type of doc: string → file" in planned, planned
    refused = h.run("migrate", check=False)
    assert refused.returncode != 0 and "1 row holds a value" in refused.stderr
    h.run("migrate", "--allow-destructive")
    found = await columns(database_url, "lab", "paper")
    if database_url.startswith("postgres"):
        assert found["doc"]["data_type"] == "text"
    else:
        assert found["doc"]["type"] == "TEXT"
    async with h.service() as (service, system):
        again = await service.get(system, "Paper", paper["id"])
        removed = await service.update(system, "Paper", paper["id"], {"doc": None})
    assert again["doc"] is None and again["title"] == "t"  # no reference: no file shown
    assert removed["doc"] is None
