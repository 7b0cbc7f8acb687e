"""The file routes in the OpenAPI document: valid OpenAPI 3.1, one path per entity with file
fields, and a file shown (read-only) in records but only null in writes."""

from __future__ import annotations

from pathlib import Path

from openapi_spec_validator import validate

from runtime.api.openapi import openapi_document
from runtime.definitions import load_project
from tests.files.conftest import write_definitions


def test_file_routes_are_described(tmp_path: Path) -> None:
    document = openapi_document(load_project(write_definitions(tmp_path / "definitions")))
    validate(document)
    path = document["paths"]["/api/documents/{id}/files/{field}"]
    assert set(path) == {"parameters", "get", "put", "post", "delete"}
    field = next(p for p in path["parameters"] if p["name"] == "field")
    assert field["schema"]["enum"] == ["pdf", "photo", "blob", "scan", "secret"]
    assert {"413", "415", "412"} <= set(path["put"]["responses"])
    assert set(path["put"]["requestBody"]["content"]) == {
        "multipart/form-data",
        "application/octet-stream",
    }
    assert "/api/notes/{id}/files/{field}" not in document["paths"]  # no file field
    schemas = document["components"]["schemas"]
    shown = schemas["Document"]["properties"]["pdf"]
    assert shown["type"] == ["object", "null"] and "sha256" in shown["properties"]
    assert "key" not in shown["properties"]
    assert schemas["DocumentPatch"]["properties"]["pdf"]["type"] == "null"
