"""`http`: call a URL, outside any transaction, through the SSRF guard (`net_guard`).

A 2xx answer is the step's outcome (its status and the start of its body); anything else —
another status, no answer in time, no connection — is a failed attempt, retried as the
workflow's `retry` says, with the same `Idempotency-Key` so the receiver can drop repeats. An
address the guard refuses, or a URL that is not http(s), can never work: the run is dead.
"""

from __future__ import annotations

import asyncio
import codecs
import functools
import ssl
from typing import Any

import httpcore
import httpx

from runtime.definitions.units import parse_duration
from runtime.workflows.actions.base import ActionKind, Step, StepFailed, StepRefused
from runtime.workflows.net_guard import AddressRefused, GuardedBackend

EXCERPT_CHARS = 1000
MAX_REDIRECTS = 5
DEFAULT_TIMEOUT = "10s"
_SCHEMES = ("http", "https")


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every call: loading the CA certificates takes a while."""
    return httpx.create_ssl_context(trust_env=False)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport, with its connection pool opening sockets through the guard."""

    def __init__(self, allow_hosts: tuple[str, ...]) -> None:
        super().__init__(verify=_tls(), trust_env=False, retries=0)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=_tls(), network_backend=GuardedBackend(allow_hosts)
        )


async def _only_http(request: httpx.Request) -> None:
    """Every hop, the first and each redirect, must be http or https."""
    if request.url.scheme not in _SCHEMES:
        raise AddressRefused(f"'{request.url}' is not an http or https URL")  # a redirect


def _checked_url(url: str) -> None:
    """The URL as rendered must be http(s) with a host: nothing else is ever fetched."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as error:
        raise StepRefused(f"http: '{url}' is not a valid URL: {error}") from None
    if parsed.scheme not in _SCHEMES or not parsed.host:
        raise StepRefused(f"http: '{url}' is not an http or https URL with a host")


async def run(args: dict[str, Any], step: Step) -> dict[str, Any]:
    url = str(args["url"])
    _checked_url(url)
    seconds = parse_duration(args.get("timeout", DEFAULT_TIMEOUT))
    try:
        async with asyncio.timeout(seconds):  # the whole call, however slowly it trickles
            return await _call(args, url, seconds, step)
    except AddressRefused as refused:
        raise StepRefused(f"http: {refused}") from None
    except (TimeoutError, httpx.TimeoutException):
        raise StepFailed(f"http: no answer from {url} within {seconds:g}s") from None
    except httpx.InvalidURL as error:
        raise StepRefused(f"http: '{url}' is not a valid URL: {error}") from None
    except httpx.TooManyRedirects:
        raise StepFailed(f"http: {url} redirected more than {MAX_REDIRECTS} times") from None
    except httpx.HTTPError as error:  # no connection, a broken answer: try again later
        raise StepFailed(f"http: {url}: {type(error).__name__}: {error}") from None


async def _call(args: dict[str, Any], url: str, seconds: float, step: Step) -> dict[str, Any]:
    headers = {str(k): str(v) for k, v in (args.get("headers") or {}).items()}
    headers["Idempotency-Key"] = step.key
    headers.setdefault("Accept-Encoding", "identity")  # the excerpt's bound is the wire's
    body: dict[str, Any] = {}
    if "json" in args:
        body["json"] = args["json"]
    elif "body" in args:
        body["content"] = str(args["body"]).encode()
    async with httpx.AsyncClient(
        transport=GuardedTransport(step.outbound.allow_hosts),
        trust_env=False,
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        timeout=httpx.Timeout(seconds),
        event_hooks={"request": [_only_http]},
    ) as client:
        method = str(args.get("method", "POST")).upper()
        async with client.stream(method, url, headers=headers, **body) as response:
            excerpt = await _excerpt(response)
    if not response.is_success:
        raise StepFailed(f"http: {method} {url} answered {response.status_code}: {excerpt}")
    return {"status": response.status_code, "excerpt": excerpt}


async def _excerpt(response: httpx.Response) -> str:
    """The first characters of the body, reading no more of it than they need. A compressed
    body (sent although we asked for none) is not inflated: one chunk could be a bomb."""
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        return f"({encoding}-encoded body)"
    decoder = codecs.getincrementaldecoder(_charset(response))(errors="replace")
    text = ""
    async for chunk in response.aiter_raw():
        text += decoder.decode(chunk[: 4 * EXCERPT_CHARS])
        if len(text) >= EXCERPT_CHARS:
            break
    return text[:EXCERPT_CHARS]


def _charset(response: httpx.Response) -> str:
    charset = response.charset_encoding or "utf-8"
    try:
        codecs.lookup(charset)
    except LookupError:
        return "utf-8"
    return charset


ACTION = ActionKind(name="http", external=True, run=run)
