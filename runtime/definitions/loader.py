"""Safe YAML loading that remembers where every node was written.

`load_document` turns one file into a `Document`: plain Python data (dicts, lists, scalars)
plus two maps from a node's path (keys and indexes, like `("fields", "subject", "type")`) to
its 1-based (line, column), one for values and one for mapping keys. Scalars follow the YAML 1.2
core schema (`on`, `yes`, `no` stay strings), mapping keys are always strings, and duplicate
keys, anchors, aliases and unknown tags are refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from runtime.definitions._wording import did_you_mean
from runtime.definitions.errors import Problem
from runtime.definitions.model import Loc
from runtime.definitions.nodes import NodePath

KINDS = ("entity", "role", "workflow")
PLATFORM = "platform"
MAX_DEPTH = 50

Pos = tuple[int, int]

_CORE = "tag:yaml.org,2002:"
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"^[-+]?[0-9]+$")
_HEX_OCT = re.compile(r"^0(?:x[0-9a-fA-F]+|o[0-7]+)$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_INF_NAN = {
    ".inf": float("inf"),
    "+.inf": float("inf"),
    "-.inf": float("-inf"),
    ".nan": float("nan"),
}


@dataclass(slots=True)
class Document:
    """One definition file: its kind, its data and the position of every node."""

    file: str
    kind: str  # entity | role | workflow | platform
    data: dict[str, Any]
    value_locs: dict[NodePath, Pos] = field(default_factory=dict)  # (line, col), 1-based
    key_locs: dict[NodePath, Pos] = field(default_factory=dict)
    is_complete: bool = True  # False when a refused node (alias, tag) left a hole in `data`

    @property
    def name(self) -> str:
        """The definition's name (`Ticket`), or "platform" for platform.yaml."""
        return str(self.data.get(self.kind, "")) if self.kind != PLATFORM else PLATFORM

    def loc(self, path: NodePath) -> Loc:
        """Where the value at `path` starts (or its nearest written ancestor)."""
        while path not in self.value_locs and path:
            path = path[:-1]
        return Loc(self.file, *self.value_locs.get(path, (1, 1)))

    def key_loc(self, path: NodePath) -> Loc:
        """Where the mapping key naming `path` was written; the value's position otherwise."""
        pos = self.key_locs.get(path)
        return Loc(self.file, *pos) if pos else self.loc(path)


def load_document(
    path: Path | str, file: str, *, is_platform: bool = False
) -> tuple[Document | None, list[Problem]]:
    """Read and parse one definition file; the document is None when it cannot be used.

    `file` is how problems name it (relative to the current directory).
    """
    try:
        with open(path, "rb") as stream:
            raw = stream.read()
    except OSError as exc:
        return None, [Problem(Loc(file, 1, 1), f"cannot read file: {exc.strerror or exc}")]
    text, problem = _decode(raw, file)
    if problem is not None:
        return None, [problem]
    composer = _Composer(text, file)
    data = composer.compose()
    problems = composer.problems
    if data is _MISSING and is_platform and composer.is_empty:
        return Document(file, PLATFORM, {}), []  # an empty platform.yaml means "all defaults"
    if data is _MISSING:
        return None, problems
    kind, kind_problem = _kind_of(data, composer, file, is_platform=is_platform)
    if kind_problem is not None:
        problems.append(kind_problem)
    if kind is None:
        return None, problems
    doc = Document(file, kind, data, composer.value_locs, composer.key_locs, composer.is_complete)
    return doc, problems


def _decode(raw: bytes, file: str) -> tuple[str, Problem | None]:
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        start = exc.start
        line_start = raw.rfind(b"\n", 0, start) + 1
        line = raw.count(b"\n", 0, start) + 1
        col = len(raw[line_start:start].decode("utf-8", errors="replace")) + 1
        message = (
            f"file is not valid UTF-8 (byte 0x{raw[start]:02x} cannot be decoded); "
            "save it with UTF-8 encoding"
        )
        return "", Problem(Loc(file, line, col), message)


def _kind_of(
    data: Any, composer: _Composer, file: str, *, is_platform: bool
) -> tuple[str | None, Problem | None]:
    """Which kind of definition the document is, from its first key."""
    expected = "'entity', 'role' or 'workflow'"
    if not isinstance(data, dict):
        got = "a list" if isinstance(data, list) else f"a single value ({data!r})"
        what = "project settings" if is_platform else f"a first key of {expected}"
        return None, Problem(Loc(file, 1, 1), f"expected a mapping with {what}, got {got}")
    if is_platform:
        return PLATFORM, None
    if not data:
        return None, Problem(Loc(file, 1, 1), f"empty mapping: the first key must be {expected}")
    first = next(iter(data))
    if first in KINDS:
        return first, None
    loc = Loc(file, *composer.key_locs[(first,)])
    present = [k for k in KINDS if k in data]
    if present:
        message = f"the first key must name the kind: move '{present[0]}:' above '{first}:'"
    else:
        message = f"unknown definition kind '{first}': the first key must be {expected}"
        message += did_you_mean(first, KINDS)
    return None, Problem(loc, message)


_MISSING = object()
_EMPTY = "file is empty: expected a definition starting with 'entity:', 'role:' or 'workflow:'"
_PLAIN, _QUOTED, _COLLECTION = "plinth:plain", "plinth:quoted", "plinth:collection"
_TAG_TYPES: dict[str, type | tuple[type, ...]] = {
    "int": int,
    "float": (int, float),
    "bool": bool,
    "null": type(None),
}


class _MarkImplicit:
    """Tag implicit nodes with markers instead of PyYAML's YAML 1.1 guesses (`on` → True)."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is yaml.ScalarNode:
            return _PLAIN if implicit[0] else _QUOTED
        return _COLLECTION

    # No path-based resolvers, so PyYAML's bookkeeping for them (two calls per node) is
    # skipped: C callables that take the same arguments and do nothing useful are cheapest.
    descend_resolver: Callable[[Any, Any], Any] = {}.get  # (node, index) -> index
    ascend_resolver: Callable[[], Any] = tuple  # () -> ()


# the base is chosen at run time (libyaml's when PyYAML was built with it)
class _FastLoader(_MarkImplicit, getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's parser and composer: the usual path."""


class _GuardedLoader(_MarkImplicit, yaml.SafeLoader):
    """The pure-Python composer, used when a file has anchors: it refuses each anchor and
    alias where it is written, and never shares (so never expands) a node."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.refused: list[tuple[Any, str]] = []

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.get_event()  # type: ignore[no-untyped-call]  # unannotated in types-PyYAML
            self.refused.append((event.start_mark, f"YAML alias '*{event.anchor}' {_REFUSED}"))
            return yaml.ScalarNode(_PLAIN, "", event.start_mark, event.end_mark)
        event = self.peek_event()  # type: ignore[no-untyped-call]  # unannotated in types-PyYAML
        if getattr(event, "anchor", None) is not None:
            self.refused.append((event.start_mark, f"YAML anchor '&{event.anchor}' {_REFUSED}"))
            event.anchor = None
        return super().compose_node(parent, index)


_REFUSED = "is not allowed in definitions: repeat the value instead"


class _Composer:
    """Turns one YAML text into plain data plus the position of every node."""

    def __init__(self, text: str, file: str) -> None:
        self.text = text
        self.file = file
        self.problems: list[Problem] = []
        self.value_locs: dict[NodePath, Pos] = {}
        self.key_locs: dict[NodePath, Pos] = {}
        self.is_empty = False
        self.is_complete = True

    def compose(self) -> Any:
        """The document's data, or `_MISSING` when the file is empty or not valid YAML.

        Without an anchor (`&`) there can be no alias, so libyaml's composer is safe to use.
        """
        return self._compose(_FastLoader if "&" not in self.text else _GuardedLoader)

    def _compose(self, loader_class: type) -> Any:
        loader = loader_class(self.text)
        try:
            root = loader.get_single_node()
        except yaml.YAMLError as exc:
            self.problems.append(self._syntax_problem(exc))
            return _MISSING
        finally:
            loader.dispose()
        for mark, message in getattr(loader, "refused", ()):
            self._refuse(self._loc(mark), message)
        if root is None or (root.tag == _PLAIN and _NULL.match(root.value)):
            self.is_empty = True
            self.problems.append(Problem(Loc(self.file, 1, 1), _EMPTY))
            return _MISSING
        return self._node(root, (), 0)

    def _loc(self, mark: Any) -> Loc:
        return Loc(self.file, mark.line + 1, mark.column + 1)

    def _node(self, node: Any, path: NodePath | None, depth: int) -> Any:
        """Plain data for `node`; `path` None means "do not record positions" (a duplicate)."""
        mark = node.start_mark
        if path is not None:
            self.value_locs[path] = (mark.line + 1, mark.column + 1)
        tag = node.tag
        if tag == _PLAIN:  # the common cases first
            return _resolve_plain(node.value)
        if tag == _QUOTED:
            return node.value
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, self._loc(mark))
        if tag not in (
            _COLLECTION,
            _CORE + ("seq" if isinstance(node, yaml.SequenceNode) else "map"),
        ):
            self._refuse(
                self._loc(mark), f"YAML tag '{_show_tag(tag)}' is not allowed in definitions"
            )
        if depth >= MAX_DEPTH:
            message = f"nesting deeper than {MAX_DEPTH} levels is not allowed"
            self._refuse(self._loc(mark), message)
            return None
        if isinstance(node, yaml.SequenceNode):
            return self._sequence(node, path, depth)
        return self._mapping(node, path, depth)

    def _sequence(self, node: Any, path: NodePath | None, depth: int) -> list[Any]:
        if path is None:
            return [self._node(item, None, depth + 1) for item in node.value]
        items: list[Any] = []
        for number, item in enumerate(node.value):
            if item.tag == _PLAIN:  # inline the most common case, for speed
                mark = item.start_mark
                self.value_locs[(*path, number)] = (mark.line + 1, mark.column + 1)
                items.append(_resolve_plain(item.value))
            else:
                items.append(self._node(item, (*path, number), depth + 1))
        return items

    def _mapping(self, node: Any, path: NodePath | None, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            mark = key_node.start_mark
            key_pos = (mark.line + 1, mark.column + 1)
            if not isinstance(key_node, yaml.ScalarNode):
                message = "a mapping key must be a plain name, not a mapping or a list"
                self._refuse(Loc(self.file, *key_pos), message)
                continue
            key = key_node.value  # always the text: `on:` is the key "on", not True
            child = None if path is None else (*path, key)
            if key in result and child is not None:
                line, col = self.key_locs[child]
                message = f"duplicate key '{key}' (first defined at line {line}, column {col})"
                self.problems.append(Problem(Loc(self.file, *key_pos), message))
                self._node(value_node, None, depth + 1)
                continue
            if child is None:
                result[key] = self._node(value_node, None, depth + 1)
                continue
            self.key_locs[child] = key_pos
            if value_node.tag == _PLAIN:  # inline the most common case, for speed
                mark = value_node.start_mark
                self.value_locs[child] = (mark.line + 1, mark.column + 1)
                result[key] = _resolve_plain(value_node.value)
            else:
                result[key] = self._node(value_node, child, depth + 1)
        return result

    def _scalar(self, node: Any, loc: Loc) -> Any:
        """A scalar with an explicit tag: `!!str 4` → "4"; only the core scalar tags are allowed."""
        value: str = node.value
        tag = node.tag
        if tag == _CORE + "str":
            return value
        kind = tag[len(_CORE) :] if tag.startswith(_CORE) else None
        expected = _TAG_TYPES.get(kind or "")
        if expected is None:
            self._refuse(loc, f"YAML tag '{_show_tag(tag)}' is not allowed in definitions")
            return value
        resolved = _resolve_plain(value)
        if isinstance(resolved, expected) and not (kind != "bool" and isinstance(resolved, bool)):
            return float(resolved) if kind == "float" and isinstance(resolved, int) else resolved
        self._refuse(loc, f"'{value}' is not a valid {kind} (YAML tag '!!{kind}')")
        return value

    def _refuse(self, loc: Loc, message: str) -> None:
        """A node that could not be taken as written: the document now has a hole."""
        self.is_complete = False
        self.problems.append(Problem(loc, message))

    def _syntax_problem(self, exc: yaml.YAMLError) -> Problem:
        mark = getattr(exc, "problem_mark", None)
        if mark is None:  # a ReaderError: a character YAML does not accept
            return self._reader_problem(exc)
        loc = self._loc(mark)
        problem = getattr(exc, "problem", None)  # a MarkedYAMLError's, as it has a mark
        if problem == "but found another document":
            message = "more than one YAML document in the file: put each definition in its own file"
            return Problem(loc, message)
        tab = _first_tab_indent(self.text, loc.line)
        if tab is not None:
            return Problem(Loc(self.file, *tab), "tab character in indentation: indent with spaces")
        message = f"invalid YAML: {problem}"
        context, where = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if context and where is not None and (where.line, where.column) != (mark.line, mark.column):
            message += f" ({context} at line {where.line + 1}, column {where.column + 1})"
        return Problem(loc, message)

    def _reader_problem(self, exc: yaml.YAMLError) -> Problem:
        position = getattr(exc, "position", 0) or 0
        line = self.text.count("\n", 0, position) + 1
        col = position - (self.text.rfind("\n", 0, position) + 1) + 1
        character = getattr(exc, "character", None)
        code = ord(character) if isinstance(character, str) else int(character or 0)
        message = (
            f"invalid YAML: character #x{code:04x} is not allowed ({getattr(exc, 'reason', exc)})"
        )
        return Problem(Loc(self.file, line, col), message)


@lru_cache(maxsize=4096)
def _resolve_plain(value: str) -> bool | int | float | str | None:
    """A plain scalar under the YAML 1.2 core schema: null, bool, int, float or string."""
    if _NULL.match(value):
        return None
    if value in _BOOL:
        return _BOOL[value]
    if _INT.match(value):
        return int(value)
    if _HEX_OCT.match(value):
        return int(value[2:], 16 if value[1] == "x" else 8)
    if _FLOAT.match(value):
        return float(value)
    return _INF_NAN.get(value.lower(), value)


def _show_tag(tag: str) -> str:
    """`tag:yaml.org,2002:python/object` → `!!python/object`."""
    return "!!" + tag[len(_CORE) :] if tag.startswith(_CORE) else tag


def _first_tab_indent(text: str, up_to_line: int) -> tuple[int, int] | None:
    """(line, col) of the first tab used for indentation on or before `up_to_line`."""
    for number, line in enumerate(text.splitlines()[:up_to_line], start=1):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent:
            return number, indent.index("\t") + 1
    return None
