"""The JSON Schemas shipped in the package."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from runtime.definitions import load_schema
from runtime.definitions.loader import Document, load_document
from runtime.definitions.model import FIELD_TYPES
from runtime.definitions.validate import SCHEMA_KINDS, _fast_validator, _validator

CASES = Path(__file__).parent / "cases"
REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("kind", SCHEMA_KINDS)
def test_schema_is_shipped_as_package_data_and_is_valid_2020_12(kind: str) -> None:
    assert resources.files("runtime.definitions").joinpath(f"schemas/{kind}.json").is_file()
    schema = load_schema(kind)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_entity_schema_knows_every_field_type() -> None:
    field = load_schema("entity")["$defs"]["field"]
    assert tuple(field["properties"]["type"]["enum"]) == FIELD_TYPES


def loadable_documents() -> list[Document]:
    paths = sorted([*CASES.rglob("*.yaml"), *(REPO / "definitions").rglob("*.yaml")])
    docs = [
        load_document(p, p.relative_to(REPO).as_posix(), is_platform=p.name == "platform.yaml")[0]
        for p in paths
    ]
    return [doc for doc in docs if doc is not None]


@pytest.mark.parametrize("doc", loadable_documents(), ids=lambda doc: doc.file)
def test_fast_and_full_validators_agree(doc: Document) -> None:
    """jsonschema-rs answers "valid?" for speed; jsonschema must agree, or errors go unseen."""
    fast = _fast_validator(doc.kind)
    if fast is None:
        pytest.skip("jsonschema-rs is not installed")
    assert fast.is_valid(doc.data) == _validator(doc.kind).is_valid(doc.data)
