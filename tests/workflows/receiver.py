"""A local HTTP receiver for tests of the `http` action: a real server on a loopback address
and a free port, in a thread, recording every request and counting every connection.

    with Receiver() as hook:            # 127.0.0.1; Receiver("127.0.0.2"), Receiver("::1"),
                                        # Receiver(tls=server_context) for https
        hook.answer(500, 500)           # the next two requests get 500, then the default 200
        hook.delay = 2.0                # or: answer each request after 2 s (a timeout)
        hook.redirect = "http://..."    # or: answer each with a 302 there
        hook.flaky = 0.1                # or: fail 10% of requests (500, or too slow to wait for)
        ... hook.url("/hook") ...
        hook.requests, hook.connections, hook.by_key()

Thread-safe (one thread per connection, HTTP/1.1 keep-alive), fast enough for thousands of
requests; `by_key()` groups them by Idempotency-Key, so repeats of one step show as one key
with several requests.
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import ssl
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    """One request as the receiver got it."""

    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes
    at: float  # time.monotonic() when it arrived
    status: int  # what it was answered

    @property
    def key(self) -> str | None:
        return self.headers.get("idempotency-key")

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class _State:
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: list[Received] = field(default_factory=list)
    connections: int = 0
    script: list[int] = field(default_factory=list)


class Receiver:
    """A recording HTTP server on `host` (a loopback address) and a free port."""

    def __init__(self, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> None:
        self.host = host
        self.scheme = "https" if tls else "http"
        self.status = 200  # the answer once the script is used up
        self.body = b"received"
        self.headers: dict[str, str] = {}  # sent with every answer
        self.delay = 0.0
        self.redirect: str | None = None
        self.flaky = 0.0  # this share of requests fails: half answer 500, half after `slow`
        self.slow = 2.0  # seconds a flaky request waits before its 200 (the client timed out)
        self._rng = random.Random(13)
        self._state = _State()
        self._server = _server(self, host)
        if tls is not None:  # the handshake happens at accept, in the server's thread
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def url(self, path: str = "/") -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}{path}"

    def answer(self, *statuses: int) -> None:
        """Answer the next requests with these statuses, in order, then with `status`."""
        with self._state.lock:
            self._state.script.extend(statuses)

    @property
    def requests(self) -> list[Received]:
        with self._state.lock:
            return list(self._state.requests)

    @property
    def connections(self) -> int:
        """TCP connections accepted so far (whether or not a request came on them)."""
        with self._state.lock:
            return self._state.connections

    def by_key(self) -> dict[str | None, list[Received]]:
        """The requests grouped by their Idempotency-Key, each group in arrival order."""
        groups: dict[str | None, list[Received]] = defaultdict(list)
        for request in self.requests:
            groups[request.key].append(request)
        return dict(groups)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """The requests once there are at least `count` (AssertionError after `timeout`)."""
        deadline = time.monotonic() + timeout
        while len(got := self.requests) < count:
            assert time.monotonic() < deadline, f"{len(got)} requests, expected {count}"
            time.sleep(0.01)
        return got

    def _next_status(self) -> int:
        with self._state.lock:
            return self._state.script.pop(0) if self._state.script else self.status

    def _flake(self) -> tuple[int | None, float]:
        """For a flaky receiver: a status to fail with, or a delay; (None, 0) for most."""
        with self._state.lock:
            roll = self._rng.random()
        if roll >= self.flaky:
            return None, 0.0
        return (500, 0.0) if roll < self.flaky / 2 else (None, self.slow)

    def _record(self, received: Received) -> None:
        with self._state.lock:
            self._state.requests.append(received)

    def _connected(self) -> None:
        with self._state.lock:
            self._state.connections += 1


def _server(receiver: Receiver, host: str) -> ThreadingHTTPServer:
    class Server(ThreadingHTTPServer):
        address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        daemon_threads = True
        request_queue_size = 1024

        def verify_request(self, request: Any, client_address: Any) -> bool:
            receiver._connected()
            return True

    class Handler(_Handler):
        owner = receiver

    return Server((host, 0), Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    owner: Receiver

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _handle(self) -> None:
        owner = self.owner
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        arrived = time.monotonic()
        failed, slow = owner._flake()
        if owner.delay or slow:
            time.sleep(owner.delay or slow)
        status = 302 if owner.redirect else failed or owner._next_status()
        headers = {k.lower(): v for k, v in self.headers.items()}
        owner._record(Received(self.command, self.path, headers, body, arrived, status))
        self.send_response(status)
        if owner.redirect:
            self.send_header("Location", owner.redirect)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        for name, value in owner.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(owner.body)))
        self.end_headers()
        # the client may stop reading (an excerpt, a timeout): that is its right
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(owner.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle
