"""Two per-fix passes of the stop index in threads: gathering the kept fixes and the stops'
medians. Their compiled kernels release the GIL, so blocks run at once; the results are those of
one pass. Gathering writes new arrays, and most of its time is the first touch of their pages: on
5 M fixes two threads gather in a quarter of the time, on the city's 1.4 GB in about the same.

The thread budget is the stop scan's (``features.stops_threads.threads_for``): one in a Dask
worker, a pytest-xdist worker, or with ``NUMBA_NUM_THREADS=1``; small inputs stay on one thread.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from features.fix_kernels import gather, gather_into
from features.stops_kernel import stop_medians
from features.stops_threads import threads_for

MIN_STOPS_PER_THREAD = 20_000


def gather_threaded(rows, drop, codes, ts, lat, lon, threads: int | None = None):
    """``fix_kernels.gather`` in up to ``threads`` blocks of ``rows`` at once: the same arrays."""
    k = threads_for(rows.size, threads)
    if k <= 1:
        return gather(rows, drop, codes, ts, lat, lon)
    cuts = np.linspace(0, rows.size, k + 1).astype(np.int64)
    kept = np.diff(cuts) if not drop.size else np.array([cuts[b + 1] - cuts[b] - np.count_nonzero(drop[cuts[b]:cuts[b + 1]])
                                                         for b in range(k)])
    at = np.concatenate([[0], np.cumsum(kept)])
    m = int(at[-1])
    out = (np.empty(m, dtype=np.int64), np.empty(m, dtype=np.int32), np.empty(m, dtype=np.int64), np.empty(m), np.empty(m))
    with ThreadPoolExecutor(max_workers=k) as pool:
        list(pool.map(lambda b: gather_into(rows, drop, cuts[b], cuts[b + 1], at[b], codes, ts, lat, lon, *out), range(k)))
    return out


def medians_threaded(lat, lon, lo, hi, threads: int | None = None):
    """``stops_kernel.stop_medians`` over blocks of stops in up to ``threads`` threads: the same arrays."""
    k = threads_for(lo.size, threads, MIN_STOPS_PER_THREAD)
    if k <= 1:
        return stop_medians(lat, lon, lo, hi)
    cuts = np.linspace(0, lo.size, k + 1).astype(np.int64)
    with ThreadPoolExecutor(max_workers=k) as pool:
        parts = list(pool.map(lambda b: stop_medians(lat, lon, lo[cuts[b]:cuts[b + 1]], hi[cuts[b]:cuts[b + 1]]), range(k)))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
