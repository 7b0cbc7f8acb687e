"""A workflow's `when`, evaluated as the service evaluates a role rule: paths checked,
variables bound and operands typed (`typed`), then `evaluate` on the typed record with the
references it goes through loaded — so `when` means in memory what it would mean in SQL.

In `when` a condition may also start from a variable; each is decided before the rest is
bound: `$changed` and `$user.roles` are lists (`{$changed: {contains: priority}}`),
`$old.<path>` compares the old record's field as `<path>` compares the new one's, and
`$record.<path>` is `<path>`.
"""

from __future__ import annotations

from typing import Any

from runtime.definitions.model import Entity, Project, Workflow
from runtime.filters import And, Cond, FilterError, Node, Not, Or, evaluate, parse_filter
from runtime.filters.ast import resolve
from runtime.service.queries import typed
from runtime.workflows.context import RunContext

LIST_VARIABLES = ("$changed", "$user.roles")  # what {contains: …} may ask of in `when`
_TRUE, _FALSE = And(()), Or(())


def when_matches(project: Project, workflow: Workflow, context: RunContext) -> bool:
    """Does the run's record match the workflow's `when` (no `when`: always)?"""
    if workflow.when is None:
        return True
    variables = context.variables(project)
    entity = context.entity
    node = _decide_variables(project, entity, parse_filter(workflow.when), variables)
    return evaluate(typed(project, entity, node, variables), variables["$record"])


def _decide_variables(
    project: Project, entity: Entity, node: Node, variables: dict[str, Any]
) -> Node:
    """`node` with each condition on a variable replaced by its answer (always / never)."""
    match node:
        case And(children):
            return And(tuple(_decide_variables(project, entity, c, variables) for c in children))
        case Or(children):
            return Or(tuple(_decide_variables(project, entity, c, variables) for c in children))
        case Not(child):
            return Not(_decide_variables(project, entity, child, variables))
        case Cond(field, op, value) if field.startswith("$"):
            head, _, rest = field.partition(".")
            if head == "$record" and rest:
                return Cond(rest, op, value)
            if head == "$old" and rest:
                cond = typed(project, entity, Cond(rest, op, value), variables)
                return _TRUE if evaluate(cond, variables["$old"] or {}) else _FALSE
            if field in LIST_VARIABLES and op == "contains":
                return _TRUE if resolve(value, variables) in variables[field] else _FALSE
            raise FilterError((field,), f"a condition cannot start from '{field}' here")
    return node
