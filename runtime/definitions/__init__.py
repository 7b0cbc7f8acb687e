"""Definitions: YAML under `definitions/` → the Model, or every problem at file:line:col.

project = load_project("definitions")          # raises DefinitionsError
project, problems = check_project("definitions")  # never raises for bad definitions
print(format_problems(problems))
"""

from __future__ import annotations

from runtime.definitions.errors import DefinitionsError, Problem, Severity
from runtime.definitions.model import Loc, Project
from runtime.definitions.paths import OPERATORS
from runtime.definitions.project import check_project, find_definition_files, load_project
from runtime.definitions.report import format_problems
from runtime.definitions.units import parse_duration, parse_size
from runtime.definitions.validate import load_schema
from runtime.filters.parse import MAX_DEPTH as MAX_REFERENCE_DEPTH

__all__ = [
    "MAX_REFERENCE_DEPTH",
    "OPERATORS",
    "DefinitionsError",
    "Loc",
    "Problem",
    "Project",
    "Severity",
    "check_project",
    "find_definition_files",
    "format_problems",
    "load_project",
    "load_schema",
    "parse_duration",
    "parse_size",
]
