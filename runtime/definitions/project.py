"""Loading a definitions folder: find files, load, validate, check, build."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from runtime.definitions.build import build_project
from runtime.definitions.catalog import build_catalog
from runtime.definitions.checks import check_semantics
from runtime.definitions.errors import DefinitionsError, Problem, sort_problems
from runtime.definitions.loader import Document, load_document
from runtime.definitions.model import Loc, Project
from runtime.definitions.pruning import Checked
from runtime.definitions.validate import validate_document

PLATFORM_FILES = ("platform.yaml", "platform.yml")


def load_project(path: str | Path) -> Project:
    """The Model of the definitions under `path`.

    Raises DefinitionsError, carrying every problem sorted by place, when any is an error.
    """
    project, problems = check_project(path)
    if project is None:
        raise DefinitionsError(problems)
    return project


def check_project(path: str | Path) -> tuple[Project | None, list[Problem]]:
    """Every problem in the definitions under `path`, and the Model when none is an error.

    Never raises for bad definitions: a missing folder is a problem too.
    """
    root = Path(path)
    if not root.is_dir():
        return None, [Problem(Loc(display_path(root), 1, 1), "definitions folder not found")]
    with _gc_paused():
        return _check_folder(root)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Loading allocates many small, long-lived objects; the cyclic collector would rescan
    them again and again (about a third of the time for 1,000 entities) and find no garbage."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _check_folder(root: Path) -> tuple[Project | None, list[Problem]]:
    problems: list[Problem] = []
    docs: list[Document] = []
    checked: dict[int, Checked] = {}
    prefix = display_path(root)  # once: pathlib arithmetic per file is slow for 1,000 files
    for relative in _relative_files(root):
        shown = relative if prefix == "." else f"{prefix}/{relative}"
        is_platform = relative in PLATFORM_FILES
        doc, found = load_document(os.path.join(root, relative), shown, is_platform=is_platform)
        problems.extend(found)
        if doc is None:
            continue
        docs.append(doc)
        if not doc.is_complete:
            continue  # the schema would only repeat what the loader said
        schema_problems, valid_part = validate_document(doc)
        problems.extend(schema_problems)
        if valid_part is not None:
            checked[id(doc)] = valid_part
    catalog, naming_problems = build_catalog(docs, checked)
    problems.extend(naming_problems)
    problems.extend(check_semantics(docs, catalog))
    problems = sort_problems(problems)
    if any(p.is_error for p in problems):
        return None, problems
    return build_project(docs), problems


def find_definition_files(root: Path) -> list[Path]:
    """Every `*.yaml` / `*.yml` file under `root`, recursively, in sorted order.

    Hidden files and folders (`.git`, `.cache`) are skipped.
    """
    return [root / relative for relative in _relative_files(root)]


def _relative_files(root: Path) -> list[str]:
    """The definition files under `root` as sorted POSIX paths relative to it."""
    found: list[str] = []
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = [name for name in subfolders if not name.startswith(".")]
        base = os.path.relpath(folder, root).replace(os.sep, "/")
        for name in names:
            wanted = name.endswith((".yaml", ".yml")) and not name.startswith(".")
            if wanted and os.path.isfile(os.path.join(folder, name)):
                found.append(name if base == "." else f"{base}/{name}")
    return sorted(found)


def display_path(path: Path) -> str:
    """`path` relative to the current directory when it is inside it, else absolute."""
    absolute = path.absolute()
    try:
        return absolute.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return absolute.as_posix()
