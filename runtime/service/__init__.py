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
from runtime.service.pages import ListQuery
from runtime.service.records import RecordService

__all__ = [
    "Conflict", "FieldError", "Forbidden", "ListQuery", "NotFound", "RecordService",
    "ServiceError", "StaleVersion", "UniqueConflict", "ValidationFailed",
]  # fmt: skip
