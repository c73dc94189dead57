"""The stop scan in threads (``features.stops_threads``) finds exactly the stops of one scan, its
blocks cover every run once, and the thread budget stays at one where the cores are already taken
(pytest-xdist workers, Dask workers) or when ``NUMBA_NUM_THREADS`` says so."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import features.stops_threads as st
from features.stops_scan import scan_stops
from features.trajectories import NS, StopIndex, StopParams, clean_arrays, run_bounds
from tests.test_stops_scan import random_tracks


@pytest.mark.parametrize("threads", [2, 3, 5])
def test_threads_find_the_same_stops_as_one_scan(threads):
    a, _, _ = clean_arrays(random_tracks(4, vehicles=9))
    for gap in (1800.0, 60.0):
        starts, ends = run_bounds(a.vehicle, a.ts, gap)
        args = (a.lat, a.lon, a.ts, starts, ends, 100.0, 300 * NS)
        one = scan_stops(*args)
        many = st.scan_stops_threaded(*args, threads=threads)
        assert len(one[0]) > 10
        for got, want in zip(many, one, strict=True):
            assert np.array_equal(got, want)


def test_an_index_built_in_two_threads_equals_one_built_in_one(small_snapshot):
    from pathlib import Path

    f = pd.read_csv(Path(small_snapshot) / "trajectories.csv", usecols=["vehicle_id", "ts", "lat", "lon"],
                    parse_dates=["ts"])
    params = StopParams(100.0, 300.0, 1800.0)
    one, two = StopIndex.build(f, params, threads=1), StopIndex.build(f, params, threads=2)
    assert len(one.lo) > 1000
    pd.testing.assert_frame_equal(one.stops, two.stops)
    assert np.array_equal(one.final_ts, two.final_ts)


@pytest.mark.parametrize("blocks", [1, 2, 3, 7])
def test_blocks_cover_every_run_once_with_balanced_fixes(blocks):
    rng = np.random.default_rng(blocks)
    lengths = rng.integers(1, 500, 200)
    ends = np.cumsum(lengths)
    starts = ends - lengths
    cuts = st.split_runs(starts, ends, blocks)
    assert cuts[0] == 0 and cuts[-1] == starts.size and np.all(np.diff(cuts) > 0)
    assert cuts.size - 1 == blocks
    fixes = [int(ends[cuts[b + 1] - 1] - starts[cuts[b]]) for b in range(blocks)]
    assert max(fixes) - min(fixes) <= 2 * lengths.max()


def test_thread_budget(monkeypatch):
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    monkeypatch.setattr(st, "_in_dask_worker", lambda: False)
    import numba

    monkeypatch.setattr(numba.config, "NUMBA_NUM_THREADS", 1)
    assert st.scan_threads() == 1
    monkeypatch.setattr(numba.config, "NUMBA_NUM_THREADS", 8)
    cpus = len(__import__("os").sched_getaffinity(0))
    assert st.scan_threads() == min(cpus, st.MAX_THREADS)
    assert st.scan_threads(3) == 3
    assert st.threads_for(st.MIN_FIXES_PER_THREAD - 1) == 1  # small work stays on one thread
    assert st.threads_for(100 * st.MIN_FIXES_PER_THREAD) == min(cpus, st.MAX_THREADS)
    assert st.threads_for(50, per_thread=10) == min(cpus, st.MAX_THREADS, 5) and st.threads_for(5, threads=3) == 3
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    assert st.scan_threads() == 1
    assert st.scan_threads(2) == 2  # an explicit request wins
    monkeypatch.delenv("PYTEST_XDIST_WORKER")
    monkeypatch.setattr(st, "_in_dask_worker", lambda: True)
    assert st.scan_threads() == 1
    with pytest.raises(ValueError, match="at least 1"):
        st.scan_threads(0)


def test_the_scan_releases_the_gil():
    """Without ``nogil`` the threads would take turns and the blocks gain nothing."""
    assert scan_stops.targetoptions.get("nogil") is True
