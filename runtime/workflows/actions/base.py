"""The contract every action keeps (one module per action in this package).

An action is handed its arguments, already rendered from the run's context, and a `Step`
(which run, which action, the idempotency key). It returns its outcome: a small JSON object
recorded on the run (an http status and excerpt, an email's Message-ID), or raises:

- `StepFailed`: this attempt failed and the run is retried by its workflow's `retry` policy
  (a non-2xx answer, a timeout, a refused SMTP connection, a constraint a later change may
  lift). Any other exception counts as this too.
- `StepRefused`: the step can never succeed as configured (an address the SSRF guard refuses,
  an email setting missing): the run is dead at once, with the message as its reason.
- `RecordGone`: the record the step needs was deleted before the run: the run is skipped.

Database actions (`external=False`: update, create) run inside the run's transaction through
the service, and the run's progress commits with them, so a retry never applies them twice.
External actions (`external=True`: http, email) run outside any transaction; their outcome is
recorded right after they return, so a retry repeats one only when the process died in
between, and then with the same idempotency key (`Step.key`).
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from runtime.access import Principal
from runtime.definitions.model import Workflow
from runtime.service import RecordService
from runtime.smtp import email_settings


class StepFailed(Exception):
    """This attempt of the step failed; the run is retried as its workflow says."""


class StepRefused(Exception):
    """The step cannot succeed as configured: the run is dead at once, with this reason."""


class RecordGone(Exception):
    """The record the step works on was deleted before the run: the run is skipped."""


@dataclass(frozen=True, slots=True)
class Outbound:
    """What external actions need from the deployment: the hosts `http` may reach although
    they resolve to private addresses, and the SMTP server email goes through."""

    allow_hosts: tuple[str, ...] = ()
    smtp_url: str | None = None
    email_from: str | None = None

    @classmethod
    def from_environment(
        cls, allow_hosts: tuple[str, ...], environ: Mapping[str, str] | None = None
    ) -> Outbound:
        """Read by the same parser as the start-up settings, which have refused a malformed
        value already."""
        smtp_url, email_from = email_settings(os.environ if environ is None else environ)
        return cls(allow_hosts=allow_hosts, smtp_url=smtp_url, email_from=email_from)


@dataclass(frozen=True, slots=True)
class Step:
    """One action of one run, as the action sees it."""

    service: RecordService
    workflow: Workflow
    event: dict[str, Any]  # the outbox row: id, tenant_id, entity, record_id, event, ...
    index: int  # the action's position in the workflow's `do` (0-based)
    principal: Principal  # the workflow, as the system, in the event's organization
    outbound: Outbound

    @property
    def key(self) -> str:
        """The idempotency key, `<event id>:<workflow>.<step index>`: the same for every
        attempt of this step of this event, and different for each workflow the event runs."""
        return f"{self.event['id']}:{self.workflow.name}.{self.index}"


Run = Callable[[dict[str, Any], Step], Awaitable[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class ActionKind:
    """One kind of action: its name in YAML, whether it leaves the database, how it runs."""

    name: str
    external: bool
    run: Run
    html_args: frozenset[str] = frozenset()  # arguments rendered as HTML (values escaped)
