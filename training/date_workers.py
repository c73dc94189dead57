"""The features of many as-of dates built in forked worker processes.

A training run builds every feature table at dozens of monthly as-of dates of one snapshot, one
date after another, on one core (about 5 s of CPU a date on the city). The dates do not depend on
each other (``features.incremental``: the values are the same with or without a shared cache), so
they can be built at once in worker processes. The workers are *forked* after the snapshot is
loaded and its stops detected: they inherit both without copying (pages are shared until written)
and without pickling 40 M fixes. Each worker keeps its own ``AsOfCache`` for the dates it is given;
the parent receives each date's two tables (a few MB) and does everything else (caching, order).

How many workers: ``hazleads.workers.fork_workers`` (``HAZLEADS_WORKERS``, else the CPUs, at most
two; one in a test worker or a pool's worker). A worker that dies (killed, out of memory) fails
the run with ``DateWorkerError`` naming the dates not built; nothing is cached for a date that
was not built whole.

Forking is safe here because the children only compute: they do not log, print, open the
database or touch MLflow. The service's background retraining runs beside request threads and
builds on one core (``workers=1``); its dates are usually all cached anyway.
"""

from __future__ import annotations

import gc
import multiprocessing as mp
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

import pandas as pd

from hazleads.workers import ENV, quiet_child


class DateWorkerError(RuntimeError):
    """A worker process building features died (killed, out of memory) or could not start."""


@dataclass
class _Job:
    """What every forked worker inherits: the snapshot, its stop index and place index, the dates,
    and the two ends of the dates not yet taken (shared between the workers, under ``lock``)."""

    snapshot: object
    index: object
    places: object
    dates: list = field(default_factory=list)
    lock: object = None
    ends: object = None  # shared int array: next date from the front, next from the back, lanes handed out


_JOB: _Job | None = None  # set in the parent just before the fork; read by the workers
_CACHE = None  # each worker's own AsOfCache, made on its first date
_LANE: int | None = None  # each worker's end of the dates: 0 takes them from the front, the others from the back


def _build_next() -> tuple[pd.Timestamp, pd.DataFrame, pd.DataFrame]:
    """Build the next date from this worker's end of the dates not yet taken.

    The first worker takes the dates from the earliest on, the second from the latest back, until
    they meet: each worker's dates are neighbours, whose windows share most of their stops, trips
    and months, so each worker's caches (its ``AsOfCache``, the place look-ups of its stops) serve
    more of its next date than when the dates were dealt alternately (6% less CPU on the city's 33
    dates); the meeting point balances the work, the later dates costing more. One task is
    submitted per date, so every date is taken exactly once."""
    global _LANE
    if _JOB is None:  # pragma: no cover - only if started without fork
        raise DateWorkerError("the worker did not inherit the snapshot (not forked)")
    ends = _JOB.ends
    with _JOB.lock:
        if _LANE is None:
            _LANE = ends[2]
            ends[2] += 1
        if ends[0] > ends[1]:  # pragma: no cover - one task per date
            raise DateWorkerError("no date left to build")
        if _LANE == 0:
            i = ends[0]
            ends[0] += 1
        else:
            i = ends[1]
            ends[1] -= 1
    return _build_one(_JOB.dates[i])


def _build_one(day: pd.Timestamp) -> tuple[pd.Timestamp, pd.DataFrame, pd.DataFrame]:
    from features.build import build
    from features.incremental import AsOfCache

    global _CACHE
    if _JOB is None:  # pragma: no cover - only if started without fork
        raise DateWorkerError("the worker did not inherit the snapshot (not forked)")
    if _CACHE is None:
        _CACHE = AsOfCache()
    fs = build(_JOB.snapshot, day, trajectory_index=_JOB.index, places=_JOB.places, cache=_CACHE)
    return day, fs.enterprise.reset_index(), fs.tip.reset_index()


def build_dates(snapshot, dates: list[pd.Timestamp], index, places, workers: int,
                meanwhile: Callable[[], None] | None = None
                ) -> Iterator[tuple[pd.Timestamp, pd.DataFrame, pd.DataFrame]]:
    """(date, enterprise table, tip table) of every date in ``dates``, in the order they finish,
    built by ``workers`` forked processes (``workers`` ≥ 2; the caller builds in process otherwise).
    The first worker takes the dates from the front, the others from the back, one at a time, so a
    worker that finishes early takes the next from its end (``_build_next``). ``meanwhile`` runs
    in the parent once the workers are started, before the first date is awaited (the caller's own
    work: it shares the CPUs with the workers)."""
    global _JOB
    if workers < 2:
        raise ValueError("build_dates is for two workers or more; build in process otherwise")
    if _JOB is not None:
        raise DateWorkerError("feature workers are already running in this process")
    ctx = mp.get_context("fork")
    _JOB = _Job(snapshot, index, places, list(dates), ctx.Lock(), ctx.Array("q", [0, len(dates) - 1, 0], lock=False))
    froze = gc.get_freeze_count() == 0
    if froze:  # the children's collections then leave the inherited objects' pages unwritten (not copied)
        gc.freeze()
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=quiet_child) as pool:
            pending = {pool.submit(_build_next) for _ in dates}
            left = set(dates)
            try:
                if meanwhile is not None:
                    meanwhile()
                while pending:
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    done, broken = [], None
                    for fut in finished:
                        try:
                            done.append(fut.result())
                        except BrokenProcessPool as exc:
                            broken = exc
                    for result in sorted(done, key=lambda r: r[0]):  # what was built is still handed over
                        left.discard(result[0])
                        yield result
                    if broken is not None:
                        rest = sorted(left)
                        named = ", ".join(str(d.date()) for d in rest[:6]) + (f" and {len(rest) - 6} more" if len(rest) > 6 else "")
                        raise DateWorkerError(
                            f"a feature worker process died (killed or out of memory?) with {len(rest)} date(s) "
                            f"not built: {named}; set {ENV}=1 to build in one process"
                        ) from broken
            finally:
                for fut in pending:
                    fut.cancel()
    finally:
        _JOB = None
        if froze:
            gc.unfreeze()
