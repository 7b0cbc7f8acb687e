"""What the service raises. Each error carries a stable `code`; the service knows no HTTP:
the API maps codes to statuses (`runtime/api/problems.py`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar


class ServiceError(Exception):
    code: ClassVar[str] = "bad_request"

    def __init_subclass__(cls, **kwargs: object) -> None:
        # a subclass defined elsewhere that names no code of its own (queries.BadQuery) is
        # known by its class name: BadQuery → "bad_query"
        super().__init_subclass__(**kwargs)
        if "code" not in cls.__dict__:
            cls.code = re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()


class NotFound(ServiceError):
    """Missing, another tenant's, or not readable: the caller cannot tell which."""

    code = "not_found"


class Forbidden(ServiceError):
    code = "forbidden"


class StaleVersion(ServiceError):
    """The record changed since the caller read it: reload and retry."""

    code = "stale_version"


class Conflict(ServiceError):
    """The change contradicts the data: a restrict reference, a transition from the wrong
    state."""

    code = "conflict"


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    code: str
    message: str


class ValidationFailed(ServiceError):
    """Every problem of a payload at once."""

    code = "validation_failed"

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))


class UniqueConflict(ValidationFailed):
    """A value that must be unique is taken (per organization for tenant-scoped entities)."""

    code = "unique_conflict"


class TooLarge(ServiceError):
    """An upload bigger than its field's `max_size`."""

    code = "too_large"


class UnsupportedType(ServiceError):
    """An upload whose content is not of a type its field's `accept` lists."""

    code = "unsupported_type"
