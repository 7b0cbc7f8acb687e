"""A scripted definitions history (issue 5): ten revisions a configurator might make over
months, and a harness that plans, migrates and writes records through the RecordService
between them, on one database."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from runtime.access import Principal
from runtime.database import close_engine, engine_from_url, open_engine
from runtime.definitions import load_project
from runtime.schema import build_registry
from runtime.service import RecordService
from tests.conftest import plinth, plinth_env

GOLDEN = Path(__file__).parent / "golden"

CUSTOMER = """\
entity: Customer
module: crm
display: "{{{{ name }}}}"
fields:
{fields}
{extra}"""

CONTRACT = """\
entity: Contract
module: sales
display: "{{ title }}"
fields:
  title:    {type: string, required: true}
  customer: {type: reference, to: Customer, on_delete: restrict, required: true}
  referrer: {type: reference, to: Customer, on_delete: set_null}
  signer:   {type: reference, to: User, on_delete: set_null}
"""

NAME_50 = "  name:   {type: string, max_length: 50, required: true}"
NAME_200 = "  name:   {type: string, max_length: 200, required: true}"
PHONE = "  phone:  {type: string, max_length: 30}"
PHONE_UNIQUE = "  phone:  {type: string, max_length: 30, unique: true}"
MOBILE = "  mobile: {type: string, max_length: 30, unique: true, renamed_from: phone}"
MOBILE_REQUIRED = (
    "  mobile: {type: string, max_length: 30, unique: true, required: true, renamed_from: phone}"
)
TIER = "  tier:   {type: enum, choices: [basic, gold], default: basic, required: true}"
TIER_2 = (
    "  tier:   {type: enum, choices: [basic, silver, platinum], default: basic, required: true}"
)
PARENT = "  parent: {type: reference, to: Customer, on_delete: cascade}"
INDEXES = "indexes:\n  - {fields: [tier, name]}\n"


def customer(*fields: str, indexes: bool = False) -> str:
    return CUSTOMER.format(fields="\n".join(fields), extra=INDEXES if indexes else "")


@dataclass(frozen=True)
class Revision:
    name: str  # also the golden file's name
    customer: str
    contract: bool = False
    destructive: bool = False  # migrate refuses it without --allow-destructive


REVISIONS = [
    Revision("01-add-entity", customer(NAME_50)),
    Revision("02-add-optional-field", customer(NAME_50, PHONE)),
    Revision("03-add-required-field-with-default", customer(NAME_50, PHONE, TIER)),
    Revision("04-add-index-and-unique-index", customer(NAME_50, PHONE_UNIQUE, TIER, indexes=True)),
    Revision("05-rename-field", customer(NAME_50, MOBILE, TIER, indexes=True)),
    Revision("06-widen-string", customer(NAME_200, MOBILE, TIER, indexes=True)),
    Revision(
        "07-change-choices-and-require",
        customer(NAME_200, MOBILE_REQUIRED, TIER_2, indexes=True),
        destructive=True,
    ),
    Revision(
        "08-add-references",
        customer(NAME_200, MOBILE_REQUIRED, TIER_2, PARENT, indexes=True),
        contract=True,
    ),
    Revision(
        "09-drop-field",
        customer(NAME_200, TIER_2, PARENT, indexes=True),
        contract=True,
        destructive=True,
    ),
    Revision("10-drop-entity", customer(NAME_200, TIER_2, PARENT, indexes=True), destructive=True),
]


@dataclass
class History:
    """One database and one definitions folder that the revisions are written into."""

    database_url: str
    workdir: Path
    tenant: uuid.UUID | None = None
    records: dict[str, dict] = field(default_factory=dict)  # id → expected values

    @property
    def definitions(self) -> Path:
        return self.workdir / "definitions"

    @property
    def migrations(self) -> Path:
        return self.workdir / "migrations"

    def write(self, revision: Revision) -> None:
        files = {"customer.yaml": revision.customer}
        if revision.contract:
            files["contract.yaml"] = CONTRACT
        self.write_files(files)

    def write_files(self, files: dict[str, str]) -> None:
        """The definitions folder holds exactly these files."""
        self.definitions.mkdir(exist_ok=True)
        for old in self.definitions.glob("*.yaml"):
            old.unlink()
        for name, text in files.items():
            (self.definitions / name).write_text(text)

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = plinth_env(self.database_url, self.workdir, PLINTH_DEFINITIONS=str(self.definitions))
        return plinth(*args, env=env, cwd=self.workdir, check=check)

    def files(self) -> list[Path]:
        return sorted(self.migrations.glob("*/plinth_*.py"))

    @asynccontextmanager
    async def service(self) -> AsyncIterator[tuple[RecordService, Principal]]:
        engine = engine_from_url(self.database_url)
        registry = build_registry(load_project(self.definitions), engine)
        await open_engine(engine)
        try:
            if self.tenant is None:
                org = registry.organization
                rows = await org.insert(org(slug="acme", name="Acme")).returning(org.id).run()
                self.tenant = rows[0]["id"]
            yield RecordService(registry), Principal.system(self.tenant, "history-test")
        finally:
            await close_engine(engine)


def golden(name: str, engine: str) -> str:
    return (GOLDEN / f"{name}.txt").read_text().replace("{engine}", engine).rstrip("\n")
