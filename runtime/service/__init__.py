"""The record service: the only writer of entity rows."""

from runtime.service.errors import (
    Conflict,
    FieldError,
    Forbidden,
    NotFound,
    ServiceError,
    StaleVersion,
    ValidationFailed,
)
from runtime.service.records import RecordService

__all__ = [
    "Conflict",
    "FieldError",
    "Forbidden",
    "NotFound",
    "RecordService",
    "ServiceError",
    "StaleVersion",
    "ValidationFailed",
]
