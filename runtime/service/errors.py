"""What the service raises. The API maps each to a problem+json status."""

from __future__ import annotations

from dataclasses import dataclass


class ServiceError(Exception):
    status = 400
    title = "Bad request"


class NotFound(ServiceError):
    """Missing, another tenant's, or not readable: the caller cannot tell which."""

    status = 404
    title = "Not found"


class Forbidden(ServiceError):
    status = 403
    title = "Forbidden"


class StaleVersion(ServiceError):
    """The record changed since the caller read it: reload and retry."""

    status = 412
    title = "Precondition failed"


class Conflict(ServiceError):
    """The change contradicts the data: a restrict reference, a transition from the wrong
    state."""

    status = 409
    title = "Conflict"


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    code: str
    message: str


class ValidationFailed(ServiceError):
    """Every problem of a payload at once."""

    status = 422
    title = "Validation failed"

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))


class UniqueConflict(ValidationFailed):
    """A value that must be unique is taken (per organization for tenant-scoped entities)."""

    status = 409
    title = "Conflict"
