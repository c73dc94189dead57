"""Gathering the kept fixes and the stops' medians in threads (``features.fix_threads``) gives the
arrays of one pass: blocks of any size, with and without dropped fixes, and at least one thread
per block boundary falling on a dropped fix."""

from __future__ import annotations

import numpy as np
import pytest

from features.fix_kernels import gather
from features.fix_threads import gather_threaded, medians_threaded
from features.stops_kernel import stop_medians


def columns(n: int, seed: int):
    rng = np.random.default_rng(seed)
    codes = np.sort(rng.integers(0, 50, n)).astype(np.int16)
    ts = np.cumsum(rng.integers(1, 60, n)).astype(np.int64)
    return codes, ts, rng.uniform(20, 30, n), rng.uniform(100, 120, n), rng


@pytest.mark.parametrize("threads", [2, 3, 7])
@pytest.mark.parametrize("dropping", [False, True])
def test_gather_in_threads_is_one_gather(threads, dropping):
    codes, ts, lat, lon, rng = columns(10_001, threads)
    rows = np.sort(rng.choice(codes.size, 9_000, replace=False)).astype(np.int64)
    drop = rng.random(rows.size) < 0.1 if dropping else np.zeros(0, dtype=bool)
    if dropping:
        drop[[0, rows.size // threads, rows.size - 1]] = True  # a block's first row, and the last
    want = gather(rows, drop, codes, ts, lat, lon)
    got = gather_threaded(rows, drop, codes, ts, lat, lon, threads)
    assert want[0].size == rows.size - int(drop.sum())
    for g, w, name in zip(got, want, ("rows", "codes", "ts", "lat", "lon"), strict=True):
        assert g.dtype == w.dtype and np.array_equal(g, w), name


@pytest.mark.parametrize("threads", [2, 5])
def test_medians_in_threads_are_one_pass(threads):
    _, _, lat, lon, rng = columns(20_000, 10 + threads)
    lo = np.sort(rng.choice(19_000, 800, replace=False)).astype(np.int64)
    hi = lo + rng.integers(0, 300, lo.size)
    want = stop_medians(lat, lon, lo, hi)
    got = medians_threaded(lat, lon, lo, hi, threads)
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
    assert np.array_equal(medians_threaded(lat, lon, lo[:0], hi[:0], threads)[0], np.empty(0))
