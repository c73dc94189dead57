"""The stop scan over blocks of runs in threads: runs are independent, the compiled scan releases
the GIL, so blocks of about equal fix counts scan at once and their stops, concatenated in block
order, are exactly those of one scan over every run. Each thread gets about ``BLOCKS_PER_THREAD``
blocks and takes the next one as it finishes one: the cost of a fix differs between vehicles (a
walker's 1-s track costs more than a truck's 30-s one), so equal shares of fixes given out once left
one thread idle while the other worked (replicated real GPS: 0.26 s against 0.49 s).

How many threads: what the caller asks (``threads=``), else the CPUs this process may use, at most
``NUMBA_NUM_THREADS`` (so ``NUMBA_NUM_THREADS=1`` keeps the scan on one core) and at most
``MAX_THREADS``; one inside a Dask worker (the cluster already runs a task per core) and one in a
pytest-xdist worker (the suite runs a process per core). Inputs under ``MIN_FIXES_PER_THREAD``
fixes a thread scan in one thread: starting threads would cost more than it saves.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from features.stops_scan import scan_stops

MAX_THREADS = 2
MIN_FIXES_PER_THREAD = 200_000
BLOCKS_PER_THREAD = 8


def _in_dask_worker() -> bool:
    if "distributed" not in sys.modules:
        return False
    from distributed import get_worker

    try:
        get_worker()
    except ValueError:
        return False
    return True


def scan_threads(threads: int | None = None) -> int:
    """Threads the stop scan may use (see the module docstring)."""
    if threads is not None:
        if threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        return int(threads)
    if os.environ.get("PYTEST_XDIST_WORKER") or _in_dask_worker():
        return 1
    import numba

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cpus, numba.config.NUMBA_NUM_THREADS, MAX_THREADS))


def threads_for(size: int, threads: int | None = None, per_thread: int = MIN_FIXES_PER_THREAD) -> int:
    """Threads for a pass over ``size`` items: ``scan_threads(threads)`` when asked; else the budget,
    but one thread per ``per_thread`` items at most (starting threads costs more than small work)."""
    if threads is not None:
        return scan_threads(threads)
    return min(scan_threads(None), max(1, size // per_thread))


def split_runs(starts: np.ndarray, ends: np.ndarray, blocks: int) -> np.ndarray:
    """Run indexes where each of ``blocks`` consecutive blocks of runs starts (and the run count at
    the end), cut at the run boundaries closest to equal shares of the fixes."""
    total = int(ends[-1] - starts[0]) if starts.size else 0
    targets = starts[0] + total * np.arange(1, blocks) / blocks if starts.size else np.empty(0)
    cuts = np.searchsorted(starts, targets)  # first run starting at or after each share
    return np.unique(np.concatenate([[0], np.clip(cuts, 0, starts.size), [starts.size]]))


def scan_stops_threaded(lat, lon, ts, starts, ends, max_diameter: float, min_duration: int,
                        threads: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``scan_stops`` (first fix, last fix, closing fix of every stop) over blocks of runs in up
    to ``scan_threads(threads)`` threads, each taking the next block when it is free; the same
    arrays as one ``scan_stops`` call."""
    n = int(ends[-1] - starts[0]) if starts.size else 0
    k = threads_for(n, threads)
    if k <= 1 or starts.size < 2:
        return scan_stops(lat, lon, ts, starts, ends, max_diameter, min_duration)
    cuts = split_runs(starts, ends, k * BLOCKS_PER_THREAD)

    def block(b: int):
        return scan_stops(lat, lon, ts, starts[cuts[b]:cuts[b + 1]], ends[cuts[b]:cuts[b + 1]], max_diameter, min_duration)

    with ThreadPoolExecutor(max_workers=min(k, cuts.size - 1)) as pool:
        parts = list(pool.map(block, range(cuts.size - 1)))
    return tuple(np.concatenate([p[f] for p in parts]) for f in range(3))
