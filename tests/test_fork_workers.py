"""How many processes a step may fork (``hazleads.workers``): the setting, the CPUs, never more
than the pieces of work, one inside a test worker or a pool's worker."""

from __future__ import annotations

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
