"""The suite's own parallel running (tests/parallel.py): a test marked `alone` runs while no
other does, and waiting for its turn it holds back the tests that have not started yet."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from tests.parallel import PORT_BASE, PORT_BLOCK, _Turns, _worker_ports


def _entered(turns: _Turns, alone: bool) -> threading.Event:
    """`turns.enter(alone)` in a thread of its own; the event is set once it returns."""
    done = threading.Event()

    def enter() -> None:
        turns.enter(alone)
        done.set()

    threading.Thread(target=enter, daemon=True).start()
    return done


def test_an_alone_test_waits_for_the_running_ones_and_holds_back_the_next(
    tmp_path: Path,
) -> None:
    running, alone, next_one = (_Turns(tmp_path) for _ in range(3))  # three workers
    running.enter(alone=False)
    alone_in = _entered(alone, alone=True)
    time.sleep(0.2)
    next_in = _entered(next_one, alone=False)
    assert not alone_in.wait(0.5)  # the running test is not done
    running.leave()
    assert alone_in.wait(5)
    assert not next_in.wait(0.5)  # it came after the alone test asked
    alone.leave()
    assert next_in.wait(5)
    next_one.leave()


def test_tests_beside_each_other_do_not_wait(tmp_path: Path) -> None:
    first, second = _Turns(tmp_path), _Turns(tmp_path)
    first.enter(alone=False)
    assert _entered(second, alone=False).wait(5)
    first.leave()
    second.leave()


def test_each_worker_has_ports_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = []
    for worker in ("gw0", "gw3"):
        monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
        ports = _worker_ports()
        assert ports is not None
        blocks.append({next(ports) for _ in range(PORT_BLOCK)})
    assert blocks[0] == set(range(PORT_BASE, PORT_BASE + PORT_BLOCK))
    assert min(blocks[1]) == PORT_BASE + 3 * PORT_BLOCK and len(blocks[1]) == PORT_BLOCK
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "master")
    assert _worker_ports() is None
