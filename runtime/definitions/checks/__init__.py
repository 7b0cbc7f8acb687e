"""Semantic checks, run after the schema: they see only documents the schema accepted."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from runtime.definitions.catalog import Catalog
from runtime.definitions.checks.entity import check_entity
from runtime.definitions.checks.platform import check_platform
from runtime.definitions.checks.role import check_role, check_role_cycles
from runtime.definitions.checks.workflow import check_workflow
from runtime.definitions.errors import Issue, Problem
from runtime.definitions.loader import Document


def check_semantics(docs: Iterable[Document], catalog: Catalog) -> list[Problem]:
    """Every semantic problem in the schema-valid documents, located."""
    problems: list[Problem] = []
    for doc in docs:
        part = catalog.checked_part(doc)
        if part is not None:
            problems.extend(_locate(doc, _issues(doc.kind, part.data, catalog)))
    problems.extend(check_role_cycles(catalog))
    return problems


def _issues(kind: str, data: dict[str, Any], catalog: Catalog) -> Iterator[Issue]:
    if kind == "entity":
        return check_entity(data, catalog)
    if kind == "role":
        return check_role(data, catalog)
    if kind == "workflow":
        return check_workflow(data, catalog)
    return check_platform(data)


def _locate(doc: Document, issues: Iterable[Issue]) -> Iterator[Problem]:
    for issue in issues:
        loc = doc.key_loc(issue.path) if issue.at_key else doc.loc(issue.path)
        yield Problem(loc, issue.message, issue.severity)
