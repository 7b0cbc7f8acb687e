"""The record service: the only writer of entity rows, and the reader that applies tenant,
role and field rules."""

from runtime.service.errors import (
    Conflict,
    FieldError,
    Forbidden,
    NotFound,
    ServiceError,
    StaleVersion,
    UniqueConflict,
    ValidationFailed,
)
from runtime.service.writes import Writes


class RecordService(Writes):
    """create / update / transition / delete, get / list / count / timeline."""


__all__ = [
    "Conflict", "FieldError", "Forbidden", "NotFound", "RecordService", "ServiceError",
    "StaleVersion", "UniqueConflict", "ValidationFailed",
]  # fmt: skip
