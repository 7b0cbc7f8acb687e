"""Service errors carry codes, not HTTP statuses; the API's one table maps every code."""

from __future__ import annotations

from runtime.api.problems import SERVICE_STATUS, service_status
from runtime.service import (
    Conflict,
    FieldError,
    Forbidden,
    NotFound,
    ServiceError,
    StaleVersion,
    UniqueConflict,
    ValidationFailed,
)
from runtime.service.queries import BadQuery


def _subclasses(cls: type) -> list[type]:
    return [cls, *(s for sub in cls.__subclasses__() for s in _subclasses(sub))]


def test_every_service_error_has_a_status() -> None:
    errors = _subclasses(ServiceError)
    assert {BadQuery, UniqueConflict} <= set(errors)
    assert not [e.__name__ for e in errors if e.code not in SERVICE_STATUS]
    assert not [e.__name__ for e in errors if "status" in vars(e) and e is not BadQuery]


def test_the_statuses_are_those_the_api_answered_with() -> None:
    field = [FieldError("f", "c", "m")]
    assert [
        service_status(error)
        for error in (
            ServiceError("x"),
            NotFound("x"),
            Forbidden("x"),
            StaleVersion("x"),
            Conflict("x"),
            ValidationFailed(field),
            UniqueConflict(field),
            BadQuery(field),
        )
    ] == [
        (400, "Bad request"),
        (404, "Not found"),
        (403, "Forbidden"),
        (412, "Precondition failed"),
        (409, "Conflict"),
        (422, "Validation failed"),
        (409, "Conflict"),
        (400, "Bad query"),
    ]
