"""How many worker processes a step may fork: the as-of dates' features (``training.date_workers``)
and the simulator's GPS months (``simulation.gps_workers``).

What the caller asks (``workers=``); else one inside a pytest-xdist worker (the suite already runs
a process per core) or inside any worker process (``experiments.worlds`` runs a world per core),
whatever the setting; else ``HAZLEADS_WORKERS``; else the CPUs this process may use, at most
``MAX_WORKERS``. One where ``fork`` is not available; never more than there are pieces of work.

A forked child starts with ``quiet_child`` (the pools' initializer): its standard streams go to
``/dev/null``. A thread of the parent (the progress spinner) may hold the inherited stdout's lock at
the moment of the fork; the child's flush at exit would then wait for it forever. And it asks to be
killed when its parent ends (``die_with_parent``).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys

MAX_WORKERS = 2
ENV = "HAZLEADS_WORKERS"


def quiet_child() -> None:
    """In a forked worker: standard output and error to ``/dev/null``, and an end with its parent
    (see the module docstring)."""
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - for the child's whole life
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115
    die_with_parent()


def die_with_parent() -> None:
    """In a worker process (Linux): killed when the process that started it ends, however it ends.
    A worker whose run was killed (SIGKILL, the OOM killer) otherwise lived on: blocked for ever
    writing its result to a pipe whose other end it holds too, keeping its memory and the run's
    output streams (a caller waiting for their end waited for ever)."""
    if mp.parent_process() is None or not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    # the process that forked this one: the run, or the fork server that the run started
    parent = os.getppid()
    pr_set_pdeathsig = 1
    if ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0) != 0:
        return
    if parent == 1 or os.getppid() != parent:  # it ended before the request took hold
        os._exit(1)


def fork_workers(workers: int | None = None, pieces: int | None = None) -> int:
    """Worker processes for ``pieces`` independent pieces of work (see the module docstring)."""
    if workers is None:
        env = os.environ.get(ENV, "").strip()
        if os.environ.get("PYTEST_XDIST_WORKER") or mp.parent_process() is not None:
            workers = 1
        elif env:
            try:
                workers = int(env)
            except ValueError:
                raise ValueError(f"{ENV}={env!r}: a whole number of worker processes (1 = none)") from None
            if workers < 1:
                raise ValueError(f"{ENV}={env!r}: at least 1")
        else:
            cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
            workers = max(1, min(cpus, MAX_WORKERS))
    elif workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if "fork" not in mp.get_all_start_methods():
        workers = 1
    if pieces is not None:
        workers = min(workers, max(pieces, 1))
    return int(workers)
