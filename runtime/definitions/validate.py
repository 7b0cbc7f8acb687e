"""JSON Schema validation of one document, with every error turned into a located Problem."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, cast

try:  # a Rust validator answers "is it valid?" ~50x faster; jsonschema explains why not
    import jsonschema_rs
except ImportError:  # pragma: no cover - jsonschema-rs is a dependency, but stay usable
    jsonschema_rs = None  # type: ignore[assignment]  # the module, or None when absent

if TYPE_CHECKING:  # jsonschema itself is imported only when a document is invalid
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

from runtime.definitions._wording import (
    container,
    did_you_mean,
    one_of,
    show_value,
    subject,
    type_phrase,
)
from runtime.definitions.errors import Problem
from runtime.definitions.loader import Document
from runtime.definitions.nodes import NodePath
from runtime.definitions.pruning import Checked, prune

SCHEMA_KINDS = ("entity", "role", "workflow", "platform")


def load_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) shipped for one kind of definition."""
    text = resources.files("runtime.definitions").joinpath(f"schemas/{kind}.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator(kind: str) -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    schema = load_schema(kind)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


@cache
def _fast_validator(kind: str) -> Any:
    return jsonschema_rs.Draft202012Validator(load_schema(kind)) if jsonschema_rs else None


def is_valid(kind: str, data: Any) -> bool:
    """Whether `data` satisfies the schema of `kind` (the fast validator when available)."""
    fast = _fast_validator(kind)
    return bool(fast.is_valid(data)) if fast is not None else _validator(kind).is_valid(data)


def validate_document(doc: Document) -> tuple[list[Problem], Checked | None]:
    """Every schema violation in `doc`, each at the position of the offending node, and the
    part of the document that is valid (None when nothing useful is left to check)."""
    if is_valid(doc.kind, doc.data):
        return [], Checked(doc.data)
    problems: list[Problem] = []
    bad_paths: list[NodePath] = []
    unknown: dict[tuple[NodePath, str], list[dict[str, Any]]] = {}
    for error in _validator(doc.kind).iter_errors(doc.data):
        for leaf in _leaves(error):
            path = tuple(leaf.absolute_path)
            keyword, _, instance = _parts(leaf)
            if "propertyNames" in leaf.absolute_schema_path:
                unknown.setdefault((path, str(instance)), []).append(_schema_of(leaf))
                bad_paths.append((*path, str(instance)))
            elif keyword == "additionalProperties":
                extra = [k for k in instance if k not in _schema_of(leaf).get("properties", {})]
                bad_paths.extend((*path, key) for key in extra)
                problems.extend(_translate(leaf, doc))
            else:
                bad_paths.append(path)
                problems.extend(_translate(leaf, doc))
    for (path, key), schemas in unknown.items():
        problems.append(_unknown_key_problem(doc, path, key, schemas))
    return _unique(problems), prune(doc.kind, doc.data, bad_paths)


def _parts(error: ValidationError) -> tuple[str | None, Any, Any]:
    """The keyword, its value in the schema and the offending instance of one error.

    jsonschema's stubs allow an `Unset` sentinel here, which errors from `iter_errors` never
    carry, and leave out None, the keyword of a `false` schema.
    """
    return cast("str | None", error.validator), error.validator_value, error.instance


def _schema_of(error: ValidationError) -> dict[str, Any]:
    """The (sub)schema that failed; {} for a boolean schema."""
    return error.schema if isinstance(error.schema, dict) else {}


def _leaves(error: ValidationError) -> Iterator[ValidationError]:
    """Descend into anyOf/oneOf when exactly one alternative fits the value's shape.

    A list with one bad item under `anyOf: ["*", list of names]` then reports the bad item,
    not "must be '*' or a list".
    """
    if error.validator in ("anyOf", "oneOf") and error.context:
        branches: dict[Any, list[ValidationError]] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        deep = [errs for errs in branches.values() if all(e.relative_path for e in errs)]
        if len(deep) == 1:
            for sub in deep[0]:
                yield from _leaves(sub)
            return
    yield error


def _translate(error: ValidationError, doc: Document) -> Iterator[Problem]:
    path: NodePath = tuple(error.absolute_path)
    kind, name = doc.kind, doc.name
    keyword, expected, value = _parts(error)
    schema = _schema_of(error)
    about = subject(kind, name, path)
    loc = doc.loc(path)
    if keyword == "additionalProperties":
        allowed = list(schema.get("properties", {}))
        for key in value:
            if key not in allowed:
                hint = did_you_mean(key, allowed)
                message = f"unknown key '{key}' in {container(kind, name, path)}{hint}"
                yield Problem(doc.key_loc((*path, key)), message)
    elif keyword == "required":
        for key in expected:
            if key not in value:
                yield Problem(loc, f"missing required key '{key}' in {container(kind, name, path)}")
    elif keyword == "type":
        phrase = schema.get("x-expected") or type_phrase(expected)
        yield Problem(loc, f"{about} must be {phrase}, got {show_value(value)}")
    elif keyword in ("enum", "const"):
        options = expected if keyword == "enum" else [expected]
        hint = did_you_mean(value, options)
        yield Problem(loc, f"{about} must be {one_of(options)}, got {show_value(value)}{hint}")
    elif keyword in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        bound = {"minimum": "at least", "exclusiveMinimum": "more than"}.get(keyword)
        bound = bound or {"maximum": "at most", "exclusiveMaximum": "less than"}[keyword]
        yield Problem(loc, f"{about} must be {bound} {expected}, got {show_value(value)}")
    else:
        yield Problem(loc, _shape_message(error, schema, about))


def _shape_message(error: ValidationError, schema: dict[str, Any], about: str) -> str:
    """Messages for length, count and pattern rules (and jsonschema's own for anything else)."""
    keyword, expected, value = _parts(error)
    if keyword == "minLength":
        return f"{about} must not be empty"
    if keyword in ("minItems", "minProperties", "maxProperties") and "x-count" in schema:
        got = ", ".join(f"'{k}'" for k in value) if value else "none"
        return f"{about} must have {schema['x-count']}, got {got}"
    if keyword in ("minItems", "minProperties"):
        noun = "item" if keyword == "minItems" else "key"
        return f"{about} must have at least {expected} {noun}{'s' if expected > 1 else ''}"
    if keyword == "maxProperties":
        keys = ", ".join(f"'{k}'" for k in value)
        return f"{about} must have at most {expected} keys, got {keys}"
    if keyword == "uniqueItems":
        return f"{about} lists the same value twice"
    if keyword == "pattern" or "x-expected" in schema:
        wanted = schema.get("x-expected", f"text matching {expected}")
        return f"{about} must be {wanted}, got {show_value(value)}"
    if keyword is None:  # a `false` schema
        return f"{about} is not allowed here"
    return f"{about}: {error.message}"


def _unknown_key_problem(
    doc: Document, path: NodePath, key: str, schemas: list[dict[str, Any]]
) -> Problem:
    """Say "unknown key" or "does not apply"; the most specific allowed list gives the hint.

    A key outside the general list is unknown; a key only outside a per-type list (marked with
    `x-for`) is a real option that does not apply to this kind of field or trigger.
    """
    loc = doc.key_loc((*path, key))
    is_known = all("x-for" in s for s in schemas)
    specific = min(schemas, key=lambda s: len(s.get("enum", ())))
    where = container(doc.kind, doc.name, path)
    if is_known:
        return Problem(loc, f"{where}: '{key}' does not apply to {specific['x-for']}")
    hint = did_you_mean(key, specific.get("enum", ()))
    return Problem(loc, f"unknown key '{key}' in {where}{hint}")


def _unique(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[Any, str]] = set()
    kept = []
    for problem in problems:
        if (problem.loc, problem.message) not in seen:
            seen.add((problem.loc, problem.message))
            kept.append(problem)
    return kept
