"""Running the suite on pytest-xdist workers: how many by default, and ports that no two
workers are handed at once.

Most tests wait (on servers starting, databases being created, browsers), so more workers than
cores pay: WORKERS was measured on a 2-core machine. `-n N` chooses, and `-n 0`, `--pdb` or
`-p no:xdist` run in one process."""

from __future__ import annotations

import collections
import fcntl
import itertools
import os
import random
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

WORKERS = 4
PORT_BLOCK = 500  # ports per xdist worker, from PORT_BASE up: below the kernel's ephemeral range
PORT_BASE = 20000
_next_ports: Iterator[int] | None = None


@pytest.hookimpl(tryfirst=True)  # before xdist's own, which turns -n into workers
def pytest_cmdline_main(config: pytest.Config) -> None:
    """`-n WORKERS --dist loadscope` unless the command line says otherwise: a module's tests
    on one worker, which starts the module's server once. Not addopts: with `-p no:xdist` an
    -n there would be an unknown option."""
    if (
        not config.pluginmanager.hasplugin("xdist")
        or hasattr(config, "workerinput")  # a worker: it runs its tests itself
        or config.option.usepdb
        or config.option.collectonly
    ):
        return
    if config.option.numprocesses is None:
        config.option.numprocesses = WORKERS
    if config.option.dist == "no":
        config.option.dist = "loadscope"
    config.option.loadscopereorder = False


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The modules of `slow` and `long` tests first (minutes each: they overlap the rest
    instead of trailing it on one worker), then those of the most tests, as xdist's own
    --loadscope-reorder would (which the hook above turns off: it would undo this)."""

    def module(item: pytest.Item) -> str:
        return item.nodeid.split("::")[0]

    sizes = collections.Counter(module(item) for item in items)
    long = {module(item) for item in items if _long(item)}
    items.sort(key=lambda item: (module(item) not in long, -sizes[module(item)]))


def _long(item: pytest.Item) -> bool:
    return any(item.get_closest_marker(name) for name in ("slow", "long"))


def _worker_ports() -> Iterator[int] | None:
    """This xdist worker's own ports (gw3: the fourth block), from a random start, round and
    round; None outside xdist, or when the block would reach the ephemeral range."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return None
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    first = PORT_BASE + int(worker[2:]) * PORT_BLOCK
    if first + PORT_BLOCK > low:
        return None
    start = random.randrange(PORT_BLOCK)  # another session's worker of the same number
    return itertools.cycle([first + (start + i) % PORT_BLOCK for i in range(PORT_BLOCK)])


def free_port() -> int:
    """A port nothing listens on, for a server a test starts. The kernel's choice (port 0) is
    free now, but the server binds it only seconds later: meanwhile another worker may be given
    the same port, and each test would talk to the other's server. So under xdist each worker
    takes ports from a block of its own, which neither another worker nor the kernel (for port
    0 or an outgoing connection) hands out."""
    global _next_ports
    if _next_ports is None:
        _next_ports = _worker_ports() or iter(())
    for port in itertools.islice(_next_ports, PORT_BLOCK):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:  # in use, or still lingering: the next one
                continue
            return port
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _Turns:
    """Who runs now, between the workers of one session: a test marked `alone` runs while no
    other test does (it times the machine, which the others' load would skew); the others run
    side by side. A writer-first lock on two files: the one waiting to run alone holds the gate,
    so the others, finishing their current test, start no next one until it is done. Tests
    marked `slow` (waiting on the clock, not the CPU) take no turn: an `alone` test would wait
    minutes for them to end."""

    def __init__(self, folder: Path) -> None:
        self.gate = (folder / "plinth-turns.gate").open("a")
        self.turn = (folder / "plinth-turns.lock").open("a")

    def enter(self, alone: bool) -> None:
        fcntl.flock(self.gate, fcntl.LOCK_EX)
        fcntl.flock(self.turn, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
        if not alone:
            fcntl.flock(self.gate, fcntl.LOCK_UN)

    def leave(self) -> None:
        fcntl.flock(self.turn, fcntl.LOCK_UN)
        fcntl.flock(self.gate, fcntl.LOCK_UN)  # (not held by a test that ran beside others)


_turns: _Turns | None = None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    """Each test of an xdist worker takes its turn (`_Turns`), set-up and teardown included."""
    global _turns
    basetemp = item.config.option.basetemp  # a worker's: in the session's, its folder
    if not hasattr(item.config, "workerinput") or not basetemp or item.get_closest_marker("slow"):
        yield
        return
    if _turns is None:
        _turns = _Turns(Path(basetemp).parent)
    _turns.enter(alone=item.get_closest_marker("alone") is not None)
    try:
        yield
    finally:
        _turns.leave()
