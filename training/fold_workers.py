"""The later folds of a training run fitted in a second process while the parent fits the first.

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
with ``FoldWorkerError`` naming the folds not fitted. How many processes: ``hazleads.workers``.

The service must not fork beside its request threads (a thread may hold the import or logging lock
at the moment of the fork). Its retraining starts the worker from multiprocessing's fork server
instead (``start="forkserver"``): a process started clean, with the training code imported once,
from which the worker is forked; the run's rows (about 50 MB on the city) are pickled to it. The
server is started while the run loads its rows (``start_server``) and stays for the service's
life, so a retraining's worker starts at once.
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager

from hazleads.workers import ENV, quiet_child


class FoldWorkerError(RuntimeError):
    """The process fitting the later folds died (killed, out of memory) or could not start."""


_FIT: Callable[[int], object] | None = None  # set in the parent just before the fork; read by the worker
_LIMITS = None  # the worker's OpenMP limit, kept for its life


START_METHODS = ("fork", "forkserver")
PRELOAD = ["__main__", "training.pipeline"]  # what the fork server imports once: its workers start ready


def _server_context():
    """The fork-server context, with what its server imports at its first start (``PRELOAD``)."""
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    return ctx


def start_server() -> None:
    """Start the fork server now, in a thread: its first start imports the training code (seconds),
    which a run that will want a worker from it does while it loads its rows. Starting it again is
    free; a server that cannot start is reported by ``later_folds``."""

    def run() -> None:
        from multiprocessing import forkserver

        _server_context()
        try:
            forkserver.ensure_running()
        except Exception:  # noqa: BLE001, S110 - later_folds meets the same error and reports it
            pass

    threading.Thread(target=run, name="fold-server-start", daemon=True).start()


def _start_worker(fit: Callable[[int], object] | None = None) -> None:
    from threadpoolctl import threadpool_limits

    global _LIMITS, _FIT
    quiet_child()
    _LIMITS = threadpool_limits(limits=1, user_api="openmp")
    if fit is not None:  # started from the fork server: the run arrives as the pool's argument
        _FIT = fit


def _fit_one(i: int):
    if _FIT is None:  # pragma: no cover - only if started without fork
        raise FoldWorkerError("the fold worker did not inherit the run (not forked)")
    return _FIT(i)


class Later:
    """The later folds' results, in their order, once the worker has fitted them (``results``).

    The folds are submitted at once (``submit``), or by a thread (``submit_in_thread``) when
    starting the worker may take seconds: the first start of the fork server imports the training
    code, and the parent need not wait for that to fit its own fold."""

    def __init__(self, pool: ProcessPoolExecutor, indices: list[int], names: list[str]):
        self._pool, self._indices, self._names = pool, indices, names
        self._futures: list[Future] = []
        self._thread: threading.Thread | None = None
        self._error: Exception | None = None

    def submit(self) -> None:
        self._futures = [self._pool.submit(_fit_one, i) for i in self._indices]

    def submit_in_thread(self) -> None:
        def run() -> None:
            try:
                self.submit()
            except Exception as exc:  # noqa: BLE001 - the worker could not start: told by ``results``
                self._error = exc

        self._thread = threading.Thread(target=run, name="fold-worker-start", daemon=True)
        self._thread.start()

    def submitted(self) -> None:
        """Wait until the folds are submitted (the worker started, or failed to)."""
        if self._thread is not None:
            self._thread.join()

    def results(self) -> list:
        self.submitted()
        if self._error is not None:
            raise FoldWorkerError(f"the process to fit {', '.join(self._names[i] for i in self._indices)} could not "
                                  f"start ({type(self._error).__name__}: {self._error}); set {ENV}=1 to fit in one "
                                  "process") from self._error
        out = []
        for n, fut in enumerate(self._futures):
            try:
                out.append(fut.result())
            except BrokenProcessPool as exc:
                left = ", ".join(self._names[i] for i in self._indices[n:])
                raise FoldWorkerError(f"the process fitting the later folds died (killed or out of memory?) with "
                                      f"{left} not fitted; set {ENV}=1 to fit in one process") from exc
        return out


@contextmanager
def later_folds(fit: Callable[[int], object], indices: list[int], names: list[str],
                start: str = "fork") -> Iterator[Later]:
    """Fit ``fit(i)`` for each of ``indices`` in one other process while the ``with`` block runs;
    ``names`` name every fold by index (for the error). Leaving the block waits for the worker;
    leaving it by an error stops the worker at once (its folds are no longer wanted).

    ``start="fork"``: the worker is forked and inherits ``fit``. ``start="forkserver"``: it is forked
    from multiprocessing's fork server, a process started clean (never forked from this one) that has
    imported the training code once (``PRELOAD``); ``fit`` must pickle, is pickled while the block
    runs (so the block must not change what it reads in place) and is sent to it. That is safe
    in a process whose other threads may hold locks (the service's request threads). A thread starts
    the worker, so the block runs meanwhile: the server's first start takes seconds (its imports). The
    server then stays for the rest of the process's life, and the next run's worker starts at once."""
    global _FIT
    if start not in START_METHODS:
        raise ValueError(f"start={start!r}: one of {', '.join(START_METHODS)}")
    if _FIT is not None:
        raise FoldWorkerError("fold workers are already running in this process")
    _FIT = fit
    froze = start == "fork" and gc.get_freeze_count() == 0
    if froze:  # the child's collections then leave the inherited objects' pages unwritten (not copied)
        gc.freeze()
    try:
        if start == "fork":
            pool = ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("fork"), initializer=_start_worker)
        else:
            ctx = _server_context()  # its preload is read when the server starts (the first time only)
            # the pool pickles ``fit`` in the starting thread while the block runs: the block must not
            # change the rows in place (fitting reads them only)
            pool = ProcessPoolExecutor(max_workers=1, mp_context=ctx, initializer=_start_worker, initargs=(fit,))
        later = Later(pool, indices, names)
        try:
            if start == "fork":
                later.submit()
            else:
                later.submit_in_thread()
            yield later
        except BaseException:
            later.submitted()
            _stop(pool)
            raise
        later.submitted()  # a block that never asked for the results: the worker is not left half started
        pool.shutdown(wait=True)
    finally:
        _FIT = None
        if froze:
            gc.unfreeze()


def _stop(pool: ProcessPoolExecutor) -> None:
    """Shut ``pool`` down without waiting for the fold it is fitting: its process is killed first,
    then the pool's own thread, which reaps it, is waited for (two threads waiting on one process
    race: the loser is told nothing, and the process would look alive a moment longer)."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    for p in procs:
        p.kill()
    pool.shutdown(wait=True, cancel_futures=True)
    for p in procs:
        p.join()
