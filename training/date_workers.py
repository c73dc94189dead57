"""The features of many as-of dates built in this process and forked worker processes at once.

A training run builds every feature table at dozens of monthly as-of dates of one snapshot, one
date after another, on one core (about 4 s of CPU a date on the city). The dates do not depend on
each other (``features.incremental``: the values are the same with or without a shared cache), so
they can be built at once in several processes. The workers are *forked* after the snapshot is
loaded and its stops detected: they inherit both without copying (pages are shared until written)
and without pickling 40 M fixes. The parent builds dates too, from the latest back (the latest is
the one whose whole FeatureSet the run keeps); each process keeps its own ``AsOfCache`` for the
dates it takes. The parent receives the workers' two tables a date (a few MB) and does
everything else (caching, order).

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
from collections.abc import Iterator
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


def _take(back: bool) -> int | None:
    """The position of the next date not yet taken, from the back or from the front; None when
    every date is taken. Shared by the forked workers and the parent (``_JOB.lock``)."""
    ends = _JOB.ends
    with _JOB.lock:
        if ends[0] > ends[1]:
            return None
        if back:
            ends[1] -= 1
            return ends[1] + 1
        ends[0] += 1
        return ends[0] - 1


def _build_next() -> tuple[pd.Timestamp, pd.DataFrame, pd.DataFrame, None] | None:
    """In a forked worker: build the next date from this worker's end of the dates not yet taken
    (None when none is left: the parent and the other workers took them).

    The first worker takes the dates from the earliest on; the parent (and any other worker) from
    the latest back, until they meet: each process's dates are neighbours, whose windows share
    most of their stops, trips and months, so its caches (its ``AsOfCache``, the place look-ups of
    its stops) serve more of its next date than when the dates were dealt alternately (6% less CPU
    on the city's 33 dates); the meeting point balances the work, the later dates costing more.
    One task is submitted per date, so no date is left unbuilt."""
    global _LANE
    if _JOB is None:  # pragma: no cover - only if started without fork
        raise DateWorkerError("the worker did not inherit the snapshot (not forked)")
    if _LANE is None:
        with _JOB.lock:
            _LANE = _JOB.ends[2]
            _JOB.ends[2] += 1
    i = _take(back=_LANE != 0)
    return None if i is None else _build_one(_JOB.dates[i])


def _build_one(day: pd.Timestamp, cache=None, keep: bool = False):
    """(day, enterprise table, tip table, the FeatureSet if ``keep`` else None) of one date, with
    ``cache`` (the parent's) or this worker's own ``AsOfCache``."""
    from features.build import build
    from features.incremental import AsOfCache

    global _CACHE
    if _JOB is None:  # pragma: no cover - only if started without fork
        raise DateWorkerError("the worker did not inherit the snapshot (not forked)")
    if cache is None:
        if _CACHE is None:
            _CACHE = AsOfCache()
        cache = _CACHE
    fs = build(_JOB.snapshot, day, trajectory_index=_JOB.index, places=_JOB.places, cache=cache)
    return day, fs.enterprise.reset_index(), fs.tip.reset_index(), fs if keep else None


def build_dates(snapshot, dates: list[pd.Timestamp], index, places, workers: int, cache=None,
                keep_last: bool = False) -> Iterator[tuple[pd.Timestamp, pd.DataFrame, pd.DataFrame, object]]:
    """(date, enterprise table, tip table, FeatureSet or None) of every date in ``dates``, in the
    order they finish, built by ``workers`` processes (``workers`` ≥ 2; the caller builds in
    process otherwise): this one and ``workers - 1`` forked ones.

    The parent builds from the latest date back with ``cache`` (its ``AsOfCache``), and with
    ``keep_last`` hands over the latest date's whole FeatureSet (it takes that date before the
    workers start); the first forked worker takes the dates from the front, any other from the
    back (``_build_next``). The parent reports the workers' dates between its own, then waits for
    the rest. A parent that is a third process beside two workers, as before, would share two
    cores three ways and fill its caches twice (the latest date's trips, the warm-up)."""
    global _JOB
    if workers < 2:
        raise ValueError("build_dates is for two workers or more; build in process otherwise")
    if _JOB is not None:
        raise DateWorkerError("feature workers are already running in this process")
    if not dates:
        return
    if cache is None:
        from features.incremental import AsOfCache

        cache = AsOfCache()
    ctx = mp.get_context("fork")
    _JOB = _Job(snapshot, index, places, list(dates), ctx.Lock(), ctx.Array("q", [0, len(dates) - 1, 0], lock=False))
    froze = gc.get_freeze_count() == 0
    if froze:  # the children's collections then leave the inherited objects' pages unwritten (not copied)
        gc.freeze()
    try:
        mine = _take(back=True)  # the latest date: the parent's, before any worker may take it
        with ProcessPoolExecutor(max_workers=workers - 1, mp_context=ctx, initializer=quiet_child) as pool:
            pending = {pool.submit(_build_next) for _ in dates}
            left = set(dates)

            def finished(block: bool):
                nonlocal pending
                if not pending:
                    return
                done_now, pending = wait(pending, timeout=None if block else 0, return_when=FIRST_COMPLETED)
                done, broken = [], None
                for fut in done_now:
                    try:
                        result = fut.result()
                    except BrokenProcessPool as exc:
                        broken = exc
                        continue
                    if result is not None:
                        done.append(result)
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

            try:
                while mine is not None:
                    result = _build_one(dates[mine], cache, keep_last and mine == len(dates) - 1)
                    left.discard(result[0])
                    yield result
                    yield from finished(block=False)
                    mine = _take(back=True)
                while pending:
                    yield from finished(block=True)
            finally:
                for fut in pending:
                    fut.cancel()
    finally:
        _JOB = None
        if froze:
            gc.unfreeze()
