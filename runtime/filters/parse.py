"""Filter dict (from YAML or JSON) → AST, with errors that locate the bad part.

The one parser of the grammar: the API parses a query's filter with it, `plinth check` a
role's row rules and a workflow's `when` (collecting every problem instead of stopping at the
first), and the Model keeps what it returns.

In a workflow's `when` (`left_variables`) a condition may also start from a variable:
`{$changed: {contains: priority}}`, `{$user.roles: {contains: agent}}` (lists, asked only
`contains`), `{$old.priority: {lt: 3}}` and `{$record.priority: 3}`; the Cond keeps the
variable as its field and `evaluate` reads it from the variables."""

from __future__ import annotations

import re
from typing import Any

from runtime.filters.ast import And, Cond, FilterError, Node, Not, Or, Path, Var, kind_of
from runtime.limits import limits
from runtime.suggest import did_you_mean

OPERATORS = (
    "eq", "ne", "gt", "gte", "lt", "lte", "in", "nin", "between",
    "contains", "icontains", "startswith", "endswith", "isnull",
)  # fmt: skip
LIST_OPERATORS = ("in", "nin")
TEXT_OPERATORS = ("contains", "icontains", "startswith", "endswith")
MAX_DEPTH = 3  # references a path may go through: a.b.c.d
LIST_VARIABLES = ("$changed", "$user.roles")  # what a `when` may ask {contains: …}
RECORD_HEADS = ("$record", "$old")  # `$old.<path>` compares the old record's field
# What looks like a variable (the definitions' checks use the same rule).
VARIABLE = re.compile(r"^\$[A-Za-z_][A-Za-z0-9_.]*$")


def is_variable(raw: Any) -> bool:
    """`$user.id`, `$record.contact.email` are variables; `$`, `$5` or `$ off` are text."""
    return isinstance(raw, str) and VARIABLE.match(raw) is not None


class _Fatal(Exception):
    """A limit crossed: stops the whole parse, past the per-part recovery."""

    def __init__(self, error: FilterError) -> None:
        super().__init__(str(error))
        self.error = error


class _Parser:
    """Raises the first FilterError, or (given a list) collects every one and leaves the bad
    part out of the AST: each child of and/or, each key of a filter, each operator."""

    def __init__(self, problems: list[FilterError] | None, left_variables: bool) -> None:
        self.problems = problems
        self.left_variables = left_variables
        self.depth = 0  # the and/or/not groups around the filter being parsed
        self.nodes = 0  # groups and conditions parsed so far

    def count(self, path: Path) -> None:
        """Refuse a filter over the node limit before parsing more of it (not recoverable:
        collecting every problem of a huge filter is the work the limit guards)."""
        self.nodes += 1
        if self.nodes > limits().filter_nodes:
            message = f"a filter has at most {limits().filter_nodes} conditions and groups"
            raise _Fatal(FilterError(path, message, code="nodes"))

    def recover(self, error: FilterError) -> None:
        if self.problems is None:
            raise error
        self.problems.append(error)

    def value(self, raw: Any, path: Path, field: str, op: str | None) -> Any:
        if is_variable(raw):
            return Var(raw)
        if isinstance(raw, dict | list):
            message = f"expected a single value, got {kind_of(raw)}"
            raise FilterError(path, message, code="single", value=raw, field=field, op=op)
        return raw

    def operand(self, field: str, op: str, raw: Any, here: Path, written: bool = True) -> Any:
        """`written` False: the shorthand `{field: value}`, an `eq` not written as such."""
        shown = op if written else None

        def fail(code: str, message: str) -> FilterError:
            return FilterError(here, message, code=code, value=raw, field=field, op=shown)

        if op in LIST_OPERATORS or op == "between":
            if is_variable(raw):
                return Var(raw)
            if not isinstance(raw, list):
                raise fail("list", f"'{op}' expects a list, got {kind_of(raw)}")
            if len(raw) > limits().in_values:
                message = f"'{op}' takes at most {limits().in_values} values, got {len(raw)}"
                raise fail("list_length", message)
            if op == "between" and len(raw) != 2:
                count = f"{len(raw)} value{'' if len(raw) == 1 else 's'}"
                raise fail("between", f"'between' expects [low, high], got {count}")
            return tuple(self.value(v, (*here, i), field, op) for i, v in enumerate(raw))
        if op == "isnull":
            if not isinstance(raw, bool):
                shown_raw = "null" if raw is None else repr(raw)
                raise fail("isnull", f"'isnull' expects true or false, got {shown_raw}")
            return raw
        if raw is None:
            raise fail("null", f"'{op}' cannot compare with null: use {{isnull: true}}")
        if op in TEXT_OPERATORS and not isinstance(raw, str):
            raise fail("text", f"'{op}' expects text, got {kind_of(raw)}")
        return self.value(raw, here, field, shown)

    def left_variable(self, field: str, spec: Any, path: Path) -> str:
        """What a condition starting from a variable compares: `$old.priority` → `priority`;
        a list variable's one `{contains: <name>}` is checked here."""
        head, _, rest = field.partition(".")
        on_record = head in RECORD_HEADS and bool(rest)
        if not self.left_variables or not (field in LIST_VARIABLES or on_record):
            message = (
                f"a condition cannot start from '{field}': only $changed, $user.roles, "
                "$old.<path> and $record.<path> can, in a workflow's 'when'"
            )
            raise FilterError(path, message, code="variable_left", field=field)
        if field in LIST_VARIABLES:
            item = spec.get("contains") if isinstance(spec, dict) and len(spec) == 1 else None
            if not isinstance(item, str):
                message = f"'{field}' is a list: ask it {{contains: <name>}}, got {kind_of(spec)}"
                raise FilterError(path, message, code="list_variable", value=spec, field=field)
        return rest if on_record else field

    def condition(self, field: str, spec: Any, path: Path) -> Node | None:
        self.count(path)
        checked = self.left_variable(field, spec, path) if field.startswith("$") else field
        if not checked or any(not part for part in checked.split(".")):
            message = f"'{field}' is not a field name or a path like 'contact.name'"
            raise FilterError(path, message, code="path", field=field)
        if checked.count(".") > MAX_DEPTH:
            depth = checked.count(".")
            message = f"a path goes through at most {MAX_DEPTH} references, not {depth}"
            raise FilterError(path, message, code="depth", field=field)
        if not isinstance(spec, dict):
            return Cond(field, "eq", self.operand(field, "eq", spec, path, False), path, path)
        if not spec:
            message = "expected {operator: value}, got an empty object"
            raise FilterError(path, message, code="empty", field=field)
        conds: list[Node] = []
        for op, raw in spec.items():
            here = (*path, op)
            try:
                if op not in OPERATORS:
                    message = f"unknown operator '{op}'{did_you_mean(str(op), OPERATORS)}"
                    raise FilterError(here, message, code="operator", field=field, op=op)
                conds.append(Cond(field, op, self.operand(field, op, raw, here), here, path))
            except FilterError as error:
                self.recover(error)
        if not conds:
            return None
        return conds[0] if len(conds) == 1 else And(tuple(conds))

    def filter(self, raw: Any, path: Path) -> Node:
        if not isinstance(raw, dict):
            message = f"a filter is an object, got {kind_of(raw)}"
            raise FilterError(path, message, code="object", value=raw)
        self.count(path)
        if self.depth > limits().filter_depth:
            message = f"and/or/not nest at most {limits().filter_depth} deep"
            raise _Fatal(FilterError(path, message, code="nesting"))
        self.depth += 1
        try:
            return self.group(raw, path)
        finally:
            self.depth -= 1

    def group(self, raw: dict[Any, Any], path: Path) -> Node:
        nodes: list[Node] = []
        for key, spec in raw.items():
            here = (*path, key)
            try:
                node = self.key(key, spec, here)
            except FilterError as error:
                self.recover(error)
                continue
            if node is not None:
                nodes.append(node)
        if not nodes:
            return And(())
        return nodes[0] if len(nodes) == 1 else And(tuple(nodes))

    def key(self, key: Any, spec: Any, here: Path) -> Node | None:
        if key in ("and", "or"):
            if not isinstance(spec, list) or not spec:
                message = f"'{key}' expects a non-empty list of filters"
                raise FilterError(here, message, code="logic", value=spec)
            children = tuple(self.child(c, (*here, i)) for i, c in enumerate(spec))
            kept = tuple(c for c in children if c is not None)
            return And(kept) if key == "and" else Or(kept)
        if key == "not":
            return Not(self.filter(spec, here))
        if not isinstance(key, str):
            raise FilterError(
                here, f"a field name is text, got {kind_of(key)}", code="key", value=key
            )
        return self.condition(key, spec, here)

    def child(self, raw: Any, path: Path) -> Node | None:
        try:
            return self.filter(raw, path)
        except FilterError as error:
            self.recover(error)
            return None


def parse_filter(
    raw: Any,
    path: Path = (),
    problems: list[FilterError] | None = None,
    *,
    left_variables: bool = False,
) -> Node:
    """`{"priority": {"gte": 4}, "status": "open"}`
    → `And((Cond("priority", "gte", 4), Cond("status", "eq", "open")))`.

    Raises the first FilterError; given `problems`, appends every one to it instead and
    returns what is left of the filter without the bad parts. `left_variables`: a workflow's
    `when`, where a condition may start from a variable."""
    parser = _Parser(problems, left_variables)
    try:
        return parser.filter(raw, path)
    except _Fatal as fatal:
        parser.recover(fatal.error)
        return And(())
    except FilterError as error:
        parser.recover(error)
        return And(())
