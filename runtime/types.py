"""Shared vocabulary."""

from __future__ import annotations

from typing import Any
from uuid import UUID

RecordId = UUID
EntityName = str
Record = dict[str, Any]
