"""The simulator's GPS months generated in forked worker processes.

Generating the fixes is most of a city's simulation (84 of 129 s on the city, one core). Each
vehicle-month draws from its own random stream (``rng_for(seed, "gps", vehicle, month)``), so the
months can be generated at once: workers forked after the trips are planned inherit the
``GpsWriter`` (road network, trips, driving plan) and each generates whole months. The parent
writes the months in order, and appends what generating a month records beside its fixes (the
terminal faults the truth lists as look-alikes, the restricted-zone passages of the driving
truth) in month order too, so the snapshot and its truth are byte for byte those of one process.

How many workers: ``hazleads.workers.fork_workers`` (``HAZLEADS_WORKERS``, else the CPUs, at most
two; one in a test worker or a pool's worker).
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from hazleads.workers import ENV, quiet_child
from simulation.gps import Fixes, GpsWriter

_GPS: tuple[GpsWriter, Callable] | None = None  # set in the parent just before the fork; read by the workers


def _month(m: int) -> tuple[list, list, list]:
    if _GPS is None:  # pragma: no cover - only if started without fork
        raise RuntimeError("the GPS worker did not inherit the writer (not forked)")
    gps, convert = _GPS
    n_faults = len(gps.faults)
    n_truth = len(gps.driving.truth) if gps.driving is not None else 0
    blocks = [convert(f) for f in gps.month(m)]
    truth = gps.driving.truth[n_truth:] if gps.driving is not None else []
    return blocks, gps.faults[n_faults:], truth


def gps_months(gps: GpsWriter, months: int, workers: int, convert: Callable[[Fixes], object]) -> Iterator[tuple[int, Iterable]]:
    """(month, its blocks of fixes, each as ``convert`` makes it: an Arrow table) for every month in
    order; with ``workers`` ≥ 2 generated and converted in forked processes (an Arrow table crosses
    to the parent as a few buffers), else streamed from ``gps`` block by block as before."""
    global _GPS
    if workers < 2:
        for m in range(months):
            yield m, (convert(f) for f in gps.month(m))
        return
    if _GPS is not None:
        raise RuntimeError("GPS workers are already running in this process")
    _GPS = (gps, convert)
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("fork"), initializer=quiet_child) as pool:
            futures = [pool.submit(_month, m) for m in range(months)]  # handed out in month order
            try:
                for m, fut in enumerate(futures):
                    try:
                        blocks, faults, truth = fut.result()
                    except BrokenProcessPool as exc:
                        raise RuntimeError(f"a GPS worker process died (killed or out of memory?) before month {m + 1} "
                                           f"of {months} was written; set {ENV}=1 to simulate in one process") from exc
                    futures[m] = None  # the month's fixes are freed once written
                    gps.faults.extend(faults)
                    if gps.driving is not None:
                        gps.driving.truth.extend(truth)
                    yield m, blocks
            finally:
                for fut in futures:
                    if fut is not None:
                        fut.cancel()
    finally:
        _GPS = None
