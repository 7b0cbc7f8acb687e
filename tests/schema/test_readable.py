"""An entity's `display` as the admin's readable label (references, pickers, row links): the
template itself when Piccolo's Readable (SQL FORMAT/PRINTF) can express it, else the fields it
names, space-separated."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from runtime.database import close_engine, engine_from_url, open_engine
from runtime.definitions import load_project
from runtime.schema import build_registry
from runtime.schema.entities import readable_template

FIELDS = "fields: {code: {type: string}, name: {type: string}, parent: {type: reference, to: Item}}"


def _project(tmp_path: Path, display: str):
    entities = tmp_path / "definitions" / "entities"
    entities.mkdir(parents=True)
    (entities / "item.yaml").write_text(f"entity: Item\ndisplay: {display!r}\n{FIELDS}\n")
    return load_project(tmp_path / "definitions")


@pytest.mark.parametrize(
    ("display", "expected"),
    [
        ("{{ name }}", ("%s", ["name"])),
        ("#{{ code }}: {{name}}", ("#%s: %s", ["code", "name"])),
        ("{{ parent.name }}", None),  # a path through a reference
        ("{{ parent }}", None),  # a reference: its UUID
        ("{{ name | upper }}", None),  # Jinja2 filters
        ("{% if code %}{{ code }}{% endif %}", None),
        ("100% {{ name }}", None),  # text FORMAT/PRINTF would read
        ("it's {{ name }}", None),  # text Piccolo's SQL string would break on
    ],
)
def test_which_display_templates_a_readable_expresses(
    tmp_path: Path, display: str, expected: tuple[str, list[str]] | None
) -> None:
    entity = _project(tmp_path, display).entities["Item"]
    assert readable_template(entity) == expected


def test_the_readable_label_as_the_database_writes_it(tmp_path: Path) -> None:
    project = _project(tmp_path, "#{{ code }}: {{ name }}")
    engine = engine_from_url(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    item = build_registry(project, engine).entities["Item"]

    async def run() -> list[dict]:
        await open_engine(engine)
        try:
            await item.create_table().run()
            tenant = uuid.uuid4()
            rows = [item(code="A7", name="Printer", tenant_id=tenant)]
            rows.append(item(code=None, name="Desk", tenant_id=tenant))
            await item.insert(*rows).run()
            return await item.select(item.get_readable()).order_by(item.name).run()
        finally:
            await close_engine(engine)

    assert [r["readable"] for r in asyncio.run(run())] == ["#: Desk", "#A7: Printer"]


def test_a_template_it_cannot_express_shows_the_fields_it_names(tmp_path: Path) -> None:
    project = _project(tmp_path, "{{ name }}, {{ code }} {% if code %}!{% endif %}")
    item = build_registry(project, engine_from_url("sqlite:///:memory:")).entities["Item"]
    readable = item.get_readable()
    assert readable.template == "%s %s"
    assert [c._meta.name for c in readable.columns] == ["code", "name"]
