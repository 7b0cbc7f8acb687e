"""The JSON Schemas shipped in the package."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
from jsonschema import Draft7Validator, Draft202012Validator

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


@pytest.mark.parametrize("kind", SCHEMA_KINDS)
def test_schema_is_also_valid_draft_07_for_editors(kind: str) -> None:
    """yaml-language-server (the VS Code YAML extension) validates schemas as draft-07."""
    Draft7Validator.check_schema(load_schema(kind))


@pytest.mark.parametrize("kind", SCHEMA_KINDS)
def test_every_property_has_a_description_for_hover(kind: str) -> None:
    def undescribed(node: object, path: str) -> list[str]:
        found: list[str] = []
        if isinstance(node, dict):
            for key, sub in node.get("properties", {}).items():
                if isinstance(sub, dict) and "description" not in sub and "$ref" not in sub:
                    found.append(f"{path}.{key}")
            for key, sub in node.items():
                if key != "if":  # conditions name properties, they do not define them
                    found += undescribed(sub, f"{path}.{key}")
        elif isinstance(node, list):
            for number, sub in enumerate(node):
                found += undescribed(sub, f"{path}[{number}]")
        return found

    assert undescribed(load_schema(kind), kind) == []


def test_field_schema_accepts_renamed_from_on_every_type() -> None:
    field = load_schema("entity")["$defs"]["field"]
    assert field["properties"]["renamed_from"] == {
        "description": field["properties"]["renamed_from"]["description"],
        "type": "string",
        "minLength": 1,
    }
    for rule in field["allOf"]:
        assert "renamed_from" in rule["then"]["propertyNames"]["enum"]


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
