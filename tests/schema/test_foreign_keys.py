"""References are real foreign keys on both databases, with the declared on_delete: the
service refuses a restricted delete naming the referencing entity (it checks first), and the
database itself refuses it, cascades and sets null when the service is bypassed."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from runtime.service import Conflict
from tests.schema.history import History
from tests.schema.inspect import query

DEFINITIONS = {
    "customer.yaml": """\
entity: Customer
module: crm
fields:
  name: {type: string, required: true}
""",
    "contract.yaml": """\
entity: Contract
module: sales
fields:
  title:    {type: string}
  customer: {type: reference, to: Customer, on_delete: restrict}
""",
    "note.yaml": """\
entity: Note
module: crm
fields:
  text:     {type: text}
  customer: {type: reference, to: Customer, on_delete: cascade}
""",
    "task.yaml": """\
entity: Task
module: crm
fields:
  title:    {type: string}
  customer: {type: reference, to: Customer, on_delete: set_null}
  owner:    {type: reference, to: User, on_delete: set_null}
""",
}


def _t(url: str, schema: str, table: str) -> str:
    return f'"{schema}"."{table}"' if url.startswith("postgres") else f'"{table}"'


@pytest.fixture
def project(database_url: str, tmp_path: Path) -> History:
    h = History(database_url, tmp_path)
    h.write_files(DEFINITIONS)
    h.run("migrate")
    return h


async def _graph(h: History) -> dict[str, str]:
    """Two customers, each with a contract-free note and task; `ada` also has a contract."""
    async with h.service() as (service, principal):
        user = service.registry.user
        rows = (
            await user.insert(
                user(username="owner@acme.test", email="owner@acme.test", password="x" * 12)
            )
            .returning(user.id)
            .run()
        )
        ids = {"user": str(rows[0]["id"])}
        for name in ("ada", "grace"):
            customer = await service.create(principal, "Customer", {"name": name})
            ids[name] = customer["id"]
            note = {"text": "hello", "customer": customer["id"]}
            ids[f"{name}-note"] = (await service.create(principal, "Note", note))["id"]
            task = {"title": "call", "customer": customer["id"], "owner": ids["user"]}
            ids[f"{name}-task"] = (await service.create(principal, "Task", task))["id"]
        contract = {"title": "Support", "customer": ids["ada"]}
        ids["contract"] = (await service.create(principal, "Contract", contract))["id"]
    return ids


async def test_the_service_follows_on_delete(project: History) -> None:
    ids = await _graph(project)
    async with project.service() as (service, principal):
        with pytest.raises(Conflict, match=r"1 Contract record\(s\) refer to it through"):
            await service.delete(principal, "Customer", ids["ada"])
        await service.delete(principal, "Customer", ids["grace"])
        assert await service.count(principal, "Note") == 1  # grace's note: cascaded
        task = await service.get(principal, "Task", ids["grace-task"])
        assert task["customer"] is None  # set_null
        assert (await service.get(principal, "Customer", ids["ada"]))["name"] == "ada"


async def test_the_database_enforces_each_on_delete(project: History) -> None:
    url = project.database_url
    ids = await _graph(project)
    customer = _t(url, "crm", "customer")

    with pytest.raises(Exception, match=r"(?i)foreign key") as refused:
        await query(url, f"DELETE FROM {customer} WHERE id = '{ids['ada']}'")
    if url.startswith("postgres"):  # PostgreSQL names the referencing table
        assert 'on table "contract"' in str(refused.value)
    assert await query(url, f"SELECT id FROM {customer} WHERE id = '{ids['ada']}'")

    await query(url, f"DELETE FROM {customer} WHERE id = '{ids['grace']}'")
    notes = await query(url, f"SELECT id FROM {_t(url, 'crm', 'note')}")
    assert [str(n["id"]) for n in notes] == [ids["ada-note"]]  # cascade
    task = _t(url, "crm", "task")
    row = await query(url, f"SELECT customer FROM {task} WHERE id = '{ids['grace-task']}'")
    assert row[0]["customer"] is None  # set_null

    await query(url, f"DELETE FROM plinth_user WHERE id = '{ids['user']}'")
    owners = await query(url, f"SELECT owner FROM {task}")
    assert owners and all(r["owner"] is None for r in owners)  # set_null to the users table


async def test_a_reference_to_a_missing_row_is_refused_by_the_database(project: History) -> None:
    url = project.database_url
    await _graph(project)
    with pytest.raises(Exception, match=r"(?i)foreign key"):
        await query(
            url,
            f"UPDATE {_t(url, 'crm', 'note')} SET customer = '{uuid.uuid4()}'",
        )
