"""How many processes a step may fork (``hazleads.workers``): the setting, the CPUs, never more
than the pieces of work, one inside a test worker or a pool's worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hazleads import workers as w


def test_how_many_workers(monkeypatch):
    monkeypatch.delenv(w.ENV, raising=False)
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    monkeypatch.setattr(w.mp, "parent_process", lambda: None)
    monkeypatch.setattr(w.os, "sched_getaffinity", lambda _pid: {0, 1, 2, 3}, raising=False)
    assert w.fork_workers() == w.MAX_WORKERS == 2
    assert w.fork_workers(pieces=1) == 1  # never more workers than pieces of work
    assert w.fork_workers(pieces=0) == 1
    assert w.fork_workers(3) == 3  # asked for: as asked
    monkeypatch.setattr(w.os, "sched_getaffinity", lambda _pid: {0}, raising=False)
    assert w.fork_workers() == 1
    monkeypatch.setenv(w.ENV, "2")
    assert w.fork_workers() == 2  # the setting wins over the CPUs
    monkeypatch.setenv(w.ENV, "two")
    with pytest.raises(ValueError, match="HAZLEADS_WORKERS='two'"):
        w.fork_workers()
    monkeypatch.setenv(w.ENV, "0")
    with pytest.raises(ValueError, match="at least 1"):
        w.fork_workers()
    monkeypatch.delenv(w.ENV)
    monkeypatch.setattr(w.os, "sched_getaffinity", lambda _pid: {0, 1}, raising=False)
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw0")
    assert w.fork_workers() == 1  # a test worker: the suite already runs one per core
    monkeypatch.setenv(w.ENV, "2")
    assert w.fork_workers() == 1  # ... whatever the setting
    assert w.fork_workers(2) == 2  # unless the caller asks
    monkeypatch.delenv("PYTEST_XDIST_WORKER")
    monkeypatch.setattr(w.mp, "parent_process", lambda: object())
    assert w.fork_workers() == 1  # a pool's worker (a world per core), whatever the setting
    monkeypatch.delenv(w.ENV)
    with pytest.raises(ValueError, match="at least 1"):
        w.fork_workers(0)
    monkeypatch.setattr(w.mp, "get_all_start_methods", lambda: ["spawn"])
    assert w.fork_workers(2) == 1  # no fork: in process


_KILLED_PARENT = r"""
import os, signal, sys, time
import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor
from hazleads.workers import quiet_child

with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("fork"), initializer=quiet_child) as pool:
    child = pool.submit(os.getpid).result()
    pool.submit(time.sleep, 120)  # a worker busy when its run is killed
    print(child, flush=True)
    time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def _alive(pid: int) -> bool:
    """A process that exists and is not a zombie (killed, but not reaped: nothing reaps it here)."""
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in state


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_a_worker_ends_with_its_killed_parent(tmp_path):
    """A forked worker whose run is killed (SIGKILL, as the OOM killer does) ends with it: it lived on
    before, blocked for ever, holding the run's output open so that a caller waiting for it hung."""
    out = tmp_path / "child.txt"
    with open(out, "w") as fh:  # not a pipe: a surviving child would keep a pipe open, and this test would hang
        proc = subprocess.run([sys.executable, "-c", _KILLED_PARENT], stdout=fh, cwd=Path(__file__).resolve().parents[1],
                              timeout=60)
    assert proc.returncode == -signal.SIGKILL
    child = int(out.read_text().split()[0])
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    alive = _alive(child)
    if alive:
        os.kill(child, signal.SIGKILL)
    assert not alive, "the worker outlived its killed parent"
