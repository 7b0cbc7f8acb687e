"""OpenAPI 3.1 from the definitions, and Swagger UI without a CDN."""

from __future__ import annotations

import re

import httpx
import pytest
from openapi_spec_validator import validate

from runtime.api.openapi import openapi_document
from runtime.definitions import load_project
from tests.conftest import DEFINITIONS, Site
from tests.service.lab import LAB


@pytest.mark.parametrize("folder", [DEFINITIONS, LAB], ids=["demo", "lab"])
def test_the_document_is_valid_openapi_3_1(folder) -> None:
    document = openapi_document(load_project(folder))
    validate(document)
    assert document["openapi"] == "3.1.0"


def test_hidden_fields_are_not_described() -> None:
    schemas = openapi_document(load_project(LAB))["components"]["schemas"]
    assert "secret" not in schemas["Sample"]["properties"]
    assert "locked" not in schemas["SampleCreate"]["properties"]  # read-only
    assert "stage" not in schemas["SampleCreate"]["properties"]  # moves by transition


def test_served_document_and_docs_without_a_cdn(server: Site) -> None:
    document = httpx.get(f"{server.url}/api/openapi.json").json()
    assert document == openapi_document(load_project(DEFINITIONS))
    page = httpx.get(f"{server.url}/api/docs")
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/api/docs/static/") for s in sources)
    for source in sources:
        assert httpx.get(f"{server.url}{source}").status_code == 200
