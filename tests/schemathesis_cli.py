"""`schemathesis` as the tests run it: its CLI, in a process of its own, with two shims for
the locked versions, without which every operation errors before a request is sent:

- jsonschema-rs 0.61 has no `CanonicalSchema.is_satisfiable`, which schemathesis 4.24 calls
  when it builds a strategy from a schema: the step is replaced by the same one reading the
  schema's kind ("false": unsatisfiable);
- hypothesis 6.170's `many` is iterated (`for _ in elements`), hypothesis-jsonschema 0.23
  still calls its former `elements.more()`: `more` is given back, on top of the iteration.

Both apply only while the installed versions lack what is shimmed. And an import's body
(text/csv, application/x-ndjson) is sent as schemathesis sends text/plain: it knows no
serializer for those types."""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import schemathesis.specs.openapi._hypothesis as strategies
from hypothesis.internal.conjecture import utils as conjecture
from schemathesis.cli import schemathesis
from schemathesis.transport.requests import REQUESTS_TRANSPORT, text_serializer


def _canonical_strategy_or_none(schema: Any, generation_config: Any, validator_cls: Any) -> Any:
    try:
        draft = strategies.CANONICALIZE_DRAFT_BY_VALIDATOR[validator_cls]
        canonical = jsonschema_rs.canonicalize(schema, draft=draft)
    except (jsonschema_rs.ValidationError, jsonschema_rs.canonical.CanonicalizationError):
        return None
    if canonical.kind in ("raw", "false"):
        return None
    alphabet = strategies.Alphabet(
        allow_x00=generation_config.allow_x00, codec=generation_config.codec
    )
    try:
        return strategies.canonical_from_schema(
            canonical, strategies.StrategyContext(alphabet=alphabet)
        )
    except strategies.UnsupportedView:
        return None


def _more(self: Any) -> bool:
    """The old `while elements.more():` loop, over the new iteration."""
    if self._depth is None:
        self.__enter__()
        self._old_loop = iter(self)
    try:
        next(self._old_loop)
    except StopIteration:
        self.__exit__(None)
        return False
    return True


if not hasattr(conjecture.many, "more"):
    conjecture.many.more = _more
if not hasattr(jsonschema_rs.canonicalize({}), "is_satisfiable"):
    strategies._canonical_strategy_or_none = _canonical_strategy_or_none

REQUESTS_TRANSPORT.serializer("text/csv", "application/x-ndjson")(text_serializer)

if __name__ == "__main__":
    schemathesis()
