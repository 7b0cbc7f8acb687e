"""The `http` action against real local receivers, only ever on loopback addresses.

The guide's `notify_hook` runs the real path (definitions, `plinth migrate`, a record created
through the service, the outbox claimed and processed) on SQLite and PostgreSQL; the action's
own edges (schemes, redirects, bounds) are tried on it directly.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import yaml

from runtime.access import Principal
from runtime.service import RecordService
from runtime.workflows.actions import http
from runtime.workflows.actions.base import Outbound, Step, StepFailed, StepRefused
from runtime.workflows.runner import TERMINAL
from tests.conftest import free_port
from tests.workflows.guide import workflow, write_project
from tests.workflows.lab import drain, lab
from tests.workflows.receiver import Receiver

HINT = "add the host to platform.yaml http.allow_hosts to allow it"


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


def _aimed(url: str, base: str) -> str:
    """The guide's `url` with its scheme, host and port replaced by those of `base`."""
    parts, target = urlsplit(url), urlsplit(base)
    return urlunsplit((target.scheme, target.netloc, parts.path, parts.query, ""))


@asynccontextmanager
async def _project(
    database_url: str, root: Path, hooks: dict[str, dict[str, Any]], allow: list[str]
) -> AsyncIterator[tuple[RecordService, Principal]]:
    """The guide's project with its `notify_hook` written once per entry of `hooks` (name →
    changes to its http action; `url` is a base the guide's URL is aimed at), migrated."""
    folder = write_project(
        root / "definitions", ["notify_hook"], platform={"http": {"allow_hosts": allow}}
    )
    guide = workflow("notify_hook")
    (folder / "workflows" / "notify_hook.yaml").unlink()
    for name, changes in hooks.items():
        block = copy.deepcopy(guide)
        block["workflow"] = name
        action = block["do"][0]["http"]
        block["retry"] = changes.pop("retry", block["retry"])
        action.update(changes, url=_aimed(action["url"], changes["url"]))
        (folder / "workflows" / f"{name}.yaml").write_text(yaml.dump(block, sort_keys=False))
    async with lab(database_url, root, folder) as lab_:
        yield lab_.service, lab_.owner


async def _drain(service: RecordService) -> None:
    """What a worker does: claim the outbox's due events and run them."""
    await drain(service)


async def _runs(service: RecordService) -> dict[str, dict[str, Any]]:
    runs = service.registry.workflow_run
    return {run["workflow"]: run for run in await runs.select().run()}


async def _until(service: RecordService, done: Any, timeout: float = 15) -> dict[str, Any]:
    """Work the outbox, retries included, until `done(runs)`; the runs by workflow."""
    deadline = time.monotonic() + timeout
    while True:
        await _drain(service)
        runs = await _runs(service)
        if done(runs):
            return runs
        assert time.monotonic() < deadline, runs
        await asyncio.sleep(0.05)


def _finished(*names: str) -> Any:
    return lambda runs: all(n in runs and runs[n]["status"] in TERMINAL for n in names)


def _steps(run: dict[str, Any]) -> list[dict[str, Any]]:
    steps = run["steps"]
    return json.loads(steps) if isinstance(steps, str) else steps


async def test_the_guides_hook_posts_the_record_with_its_idempotency_key(
    database_url: str, tmp_path: Path
) -> None:
    with Receiver() as hook:
        hook.body = ("ok " * 20_000).encode()  # longer than the excerpt
        hooks = {"notify_hook": {"url": hook.url()}}
        async with _project(database_url, tmp_path, hooks, ["127.0.0.1"]) as (service, owner):
            ticket = await service.create(owner, "Ticket", {"subject": "Printer on fire"})
            runs = await _until(service, _finished("notify_hook"))
        [request] = hook.requests
    run = runs["notify_hook"]
    assert (run["status"], run["attempts"], run["last_error"]) == ("succeeded", 1, None)
    assert request.method == "POST" and request.path == "/tickets"
    assert request.json() == {"id": ticket["id"], "subject": "Printer on fire", "priority": 3}
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-source"] == "helpdesk"
    assert request.key == f"{run['event_id']}:notify_hook.0"
    assert _steps(run) == [{"action": "http", "status": 200, "excerpt": ("ok " * 334)[:1000]}]
    assert hook.connections == 1


@pytest.mark.skipif(not _ipv6_loopback(), reason="this machine has no IPv6 loopback")
async def test_refused_addresses_kill_the_run_and_open_no_connection(
    database_url: str, tmp_path: Path
) -> None:
    with (
        Receiver("127.0.0.2") as other,
        Receiver("::1") as v6,
        Receiver() as named,
        Receiver() as redirecting,
    ):
        redirecting.redirect = other.url("/elsewhere")
        hooks = {
            "other_loopback": {"url": other.url()},
            "v6_loopback": {"url": v6.url()},
            "by_name": {"url": f"http://localhost:{named.port}"},
            "redirected": {"url": redirecting.url()},
        }
        async with _project(database_url, tmp_path, hooks, ["127.0.0.1"]) as (service, owner):
            await service.create(owner, "Ticket", {"subject": "Printer on fire"})
            runs = await _until(service, _finished(*hooks))
        assert (other.connections, v6.connections, named.connections) == (0, 0, 0)
        assert (redirecting.connections, len(redirecting.requests)) == (1, 1)
    assert {run["status"] for run in runs.values()} == {"dead"}
    assert {run["attempts"] for run in runs.values()} == {1}  # no retry: dead at once
    loopback_2 = f"refused: http: 127.0.0.2 is a loopback address; {HINT}"
    assert runs["other_loopback"]["last_error"] == loopback_2
    assert runs["redirected"]["last_error"] == loopback_2
    assert runs["v6_loopback"]["last_error"] == f"refused: http: ::1 is a loopback address; {HINT}"
    by_name = runs["by_name"]["last_error"]
    assert by_name.startswith("refused: http: localhost resolves to ") and HINT in by_name
    assert "a loopback address" in by_name


async def test_a_failing_hook_is_retried_with_the_same_key_until_it_answers(
    database_url: str, tmp_path: Path
) -> None:
    retry = {"attempts": 3, "backoff": "fixed", "initial": "1s"}
    with Receiver() as flaky, Receiver() as slow:
        flaky.answer(500, 503)
        slow.delay = 1.0
        hooks = {
            "flaky": {"url": flaky.url(), "retry": retry},
            "slow": {"url": slow.url(), "timeout": "300ms", "retry": dict(retry)},
        }
        async with _project(database_url, tmp_path, hooks, ["127.0.0.1"]) as (service, owner):
            await service.create(owner, "Ticket", {"subject": "Printer on fire"})
            first = await _until(service, lambda runs: len(runs) == 2)
            slow.delay = 0.0
            runs = await _until(service, _finished(*hooks))
        tries = flaky.requests
    assert first["flaky"]["status"] == "failed"
    assert first["flaky"]["last_error"] == (
        f"StepFailed: http: POST {flaky.url('/tickets')} answered 500: received"
    )
    assert first["slow"]["status"] == "failed"
    assert first["slow"]["last_error"] == (
        f"StepFailed: http: no answer from {slow.url('/tickets')} within 0.3s"
    )
    assert [t.status for t in tries] == [500, 503, 200]
    assert len({t.key for t in tries}) == 1 and tries[0].key.endswith(".0")
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(tries)]
    assert all(0.5 <= gap <= 1.5 for gap in gaps), gaps
    assert (runs["flaky"]["status"], runs["flaky"]["attempts"]) == ("succeeded", 3)
    assert _steps(runs["flaky"]) == [{"action": "http", "status": 200, "excerpt": "received"}]
    assert (runs["slow"]["status"], runs["slow"]["attempts"]) == ("succeeded", 2)


def _step(*allow: str) -> Step:
    """What the action reads of its step: the key and the allowed hosts."""
    event, workflow = {"id": "event-1"}, SimpleNamespace(name="hook")
    return Step(None, workflow, event, 2, None, Outbound(allow_hosts=allow))  # type: ignore[arg-type]


async def test_the_action_sends_what_its_arguments_say() -> None:
    with Receiver() as hook:
        hook.body = "é".encode() * 5000  # two bytes a character: the excerpt counts characters
        args = {
            "method": "put",
            "url": hook.url("/t/1?x=1"),
            "headers": {"X-Count": 3, "Idempotency-Key": "mine"},
            "body": "plain text",
        }
        outcome = await http.run(args, _step("127.0.0.1"))
        [request] = hook.requests
    assert outcome == {"status": 200, "excerpt": "é" * 1000}
    assert (request.method, request.path, request.body) == ("PUT", "/t/1?x=1", b"plain text")
    assert request.headers["x-count"] == "3"
    assert request.key == "event-1:hook.2"  # the step's key, whatever the headers say


async def test_an_allowed_name_may_resolve_to_loopback() -> None:
    with Receiver() as hook:
        outcome = await http.run({"url": f"http://LocalHost:{hook.port}/"}, _step("localhost"))
        assert outcome["status"] == 200 and len(hook.requests) == 1


async def test_only_http_and_https_are_followed() -> None:
    with Receiver() as hook:
        with pytest.raises(StepRefused, match="'file:///etc/passwd' is not an http or https"):
            await http.run({"url": "file:///etc/passwd"}, _step("127.0.0.1"))
        hook.redirect = "ftp://127.0.0.1/x"
        with pytest.raises(StepRefused, match=r"'ftp://127\.0\.0\.1/x' is not an http or https"):
            await http.run({"url": hook.url()}, _step("127.0.0.1"))
        assert len(hook.requests) == 1


async def test_redirects_are_followed_at_most_five_times() -> None:
    with Receiver() as hook, Receiver() as target:
        hook.redirect = target.url("/landed")
        outcome = await http.run({"url": hook.url(), "method": "GET"}, _step("127.0.0.1"))
        assert outcome == {"status": 200, "excerpt": "received"}
        assert [r.path for r in target.requests] == ["/landed"]
        hook.redirect = hook.url("/again")
        with pytest.raises(StepFailed, match="redirected more than 5 times"):
            await http.run({"url": hook.url()}, _step("127.0.0.1"))
        assert len(hook.requests) == 1 + 6


async def test_no_listener_and_a_bad_url_fail_clearly() -> None:
    port = free_port()
    with pytest.raises(StepFailed, match=f"http: http://127.0.0.1:{port}/: ConnectError"):
        await http.run({"url": f"http://127.0.0.1:{port}/"}, _step("127.0.0.1"))
    with pytest.raises(StepRefused, match=r"'http://\[::1/' is not a valid URL"):
        await http.run({"url": "http://[::1/"}, _step())
    with pytest.raises(StepRefused, match="'http:///x' is not an http or https URL with a host"):
        await http.run({"url": "http:///x"}, _step())
