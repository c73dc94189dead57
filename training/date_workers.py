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
from dataclasses import dataclass

import pandas as pd

from hazleads.workers import ENV, quiet_child


class DateWorkerError(RuntimeError):
    """A worker process building features died (killed, out of memory) or could not start."""


@dataclass
class _Job:
    """What every forked worker inherits: the snapshot, its stop index and place index."""

    snapshot: object
    index: object
    places: object


_JOB: _Job | None = None  # set in the parent just before the fork; read by the workers
_CACHE = None  # each worker's own AsOfCache, made on its first date


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
    Dates are handed out one at a time in the given order, so a worker that finishes early takes
    the next. ``meanwhile`` runs in the parent once the workers are started, before the first
    date is awaited (the caller's own work: it shares the CPUs with the workers)."""
    global _JOB
    if workers < 2:
        raise ValueError("build_dates is for two workers or more; build in process otherwise")
    if _JOB is not None:
        raise DateWorkerError("feature workers are already running in this process")
    _JOB = _Job(snapshot, index, places)
    froze = gc.get_freeze_count() == 0
    if froze:  # the children's collections then leave the inherited objects' pages unwritten (not copied)
        gc.freeze()
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("fork"), initializer=quiet_child) as pool:
            pending = {pool.submit(_build_one, d): d for d in dates}
            try:
                if meanwhile is not None:
                    meanwhile()
                while pending:
                    finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in sorted(finished, key=lambda f: pending[f]):
                        day = pending.pop(fut)
                        try:
                            result = fut.result()
                        except BrokenProcessPool as exc:
                            left = sorted([day, *(d for f, d in pending.items() if not _built(f))])
                            named = ", ".join(str(d.date()) for d in left[:6]) + (f" and {len(left) - 6} more" if len(left) > 6 else "")
                            raise DateWorkerError(
                                f"a feature worker process died (killed or out of memory?) with {len(left)} date(s) "
                                f"not built: {named}; set {ENV}=1 to build in one process"
                            ) from exc
                        yield result
            finally:
                for fut in pending:
                    fut.cancel()
    finally:
        _JOB = None
        if froze:
            gc.unfreeze()


def _built(fut) -> bool:
    """Whether a future finished with a result (before the pool broke)."""
    return fut.done() and not fut.cancelled() and fut.exception() is None
