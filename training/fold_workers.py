"""The later folds of a training run fitted in a forked process while the parent fits the first.

A run fits every model on each of its folds, then chooses and refits the models to register from
the first (latest) fold's results alone (``training.select``). The later folds only feed the run's
metrics, so they can be fitted at the same time: one forked worker fits them one after another
while the parent fits the first fold and chooses. Every fit is single-threaded (LightGBM with
``n_jobs=1``, scikit-learn without threads) and deterministic given its rows, so a fold fitted in
the worker is the fold fitted in the parent, bit for bit.

The worker is forked (the dataset is inherited, not pickled) and only computes: it does not log,
print, open the database or touch MLflow (``hazleads.workers.quiet_child``). It runs OpenMP on one
thread: GNU OpenMP does not survive a fork once the parent has run a parallel region (LightGBM's
predictions use every core unless told otherwise, so a process that has scored once would leave
the child waiting for threads that were not forked, for ever). The results do not change: a
prediction is computed row by row, and training is single-threaded already. Each fold's result
(its scores, test rows and models, a few MB) comes back pickled. A worker that dies fails the run
with ``FoldWorkerError`` naming the folds not fitted. How many processes: ``hazleads.workers``
(the service's retraining passes one: it does not fork beside its request threads).
"""

from __future__ import annotations

import gc
import multiprocessing as mp
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager

from hazleads.workers import ENV, quiet_child


class FoldWorkerError(RuntimeError):
    """The process fitting the later folds died (killed, out of memory) or could not start."""


_FIT: Callable[[int], object] | None = None  # set in the parent just before the fork; read by the worker
_LIMITS = None  # the worker's OpenMP limit, kept for its life


def _start_worker() -> None:
    from threadpoolctl import threadpool_limits

    global _LIMITS
    quiet_child()
    _LIMITS = threadpool_limits(limits=1, user_api="openmp")


def _fit_one(i: int):
    if _FIT is None:  # pragma: no cover - only if started without fork
        raise FoldWorkerError("the fold worker did not inherit the run (not forked)")
    return _FIT(i)


class Later:
    """The later folds' results, in their order, once the worker has fitted them (``results``)."""

    def __init__(self, futures: list[tuple[int, Future]], names: list[str]):
        self._futures, self._names = futures, names

    def results(self) -> list:
        out = []
        for n, (_, fut) in enumerate(self._futures):
            try:
                out.append(fut.result())
            except BrokenProcessPool as exc:
                left = ", ".join(self._names[j] for j, _ in self._futures[n:])
                raise FoldWorkerError(f"the process fitting the later folds died (killed or out of memory?) with "
                                      f"{left} not fitted; set {ENV}=1 to fit in one process") from exc
        return out


@contextmanager
def later_folds(fit: Callable[[int], object], indices: list[int], names: list[str]) -> Iterator[Later]:
    """Fit ``fit(i)`` for each of ``indices`` in one forked process while the ``with`` block runs;
    ``names`` name every fold by index (for the error). Leaving the block waits for the worker;
    leaving it by an error stops the worker at once (its folds are no longer wanted)."""
    global _FIT
    if _FIT is not None:
        raise FoldWorkerError("fold workers are already running in this process")
    _FIT = fit
    froze = gc.get_freeze_count() == 0
    if froze:  # the child's collections then leave the inherited objects' pages unwritten (not copied)
        gc.freeze()
    try:
        pool = ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("fork"), initializer=_start_worker)
        try:
            yield Later([(i, pool.submit(_fit_one, i)) for i in indices], names)
        except BaseException:
            _stop(pool)
            raise
        pool.shutdown(wait=True)
    finally:
        _FIT = None
        if froze:
            gc.unfreeze()


def _stop(pool: ProcessPoolExecutor) -> None:
    """Shut ``pool`` down without waiting for the fold it is fitting: its process is killed."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        p.kill()
        p.join()
