"""The stop index's per-fix passes in threads (``features.fix_threads``) give the arrays of one
pass: valid rows, repeats, jumps, gathering and the stops' medians, in blocks of any size, with
what decides a row falling on a block's first or last row (an invalid row, a repeat or a jump
there, a whole block invalid, an order broken only between two blocks). The valid rows, repeats
and jumps are checked against plain NumPy statements of their rules, not against the kernels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from features.fix_kernels import ARC_M_PER_DEG, gather
from features.fix_threads import (
    _one_dictionary,
    arrow_text,
    first_of_repeats_threaded,
    gather_threaded,
    jumps_threaded,
    medians_threaded,
    sorted_codes_threaded,
    valid_rows_threaded,
)
from features.stops_kernel import stop_medians

NAT = np.iinfo(np.int64).min
THREADS = [1, 2, 3, 7]


def cuts(n: int, threads: int) -> np.ndarray:
    """Where the blocks of ``threads`` threads start (as ``fix_threads`` cuts them)."""
    return np.linspace(0, n, threads + 1).astype(np.int64)[1:-1]


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


def valid_reference(codes, ts, lat, lon, drop_zero):
    ok = (codes >= 0) & (ts != NAT) & np.isfinite(lat) & np.isfinite(lon)
    if drop_zero:
        with np.errstate(invalid="ignore"):
            ok &= (np.abs(lat) <= 90) & (np.abs(lon) <= 180) & ~((np.abs(lat) < 1e-9) & (np.abs(lon) < 1e-9))
    rows = np.flatnonzero(ok)
    c, t = codes[rows].astype(np.int64), ts[rows]
    in_order = bool(np.all((c[1:] > c[:-1]) | ((c[1:] == c[:-1]) & (t[1:] >= t[:-1]))))
    return rows, in_order


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("drop_zero", [False, True])
def test_valid_rows_in_threads_are_the_rule(threads, drop_zero):
    n = 9_001
    codes, ts, lat, lon, rng = columns(n, 20 + threads)
    codes = codes.astype(np.int32)
    bad = rng.random(n) < 0.05
    at = cuts(n, threads)
    bad[np.r_[0, at, at - 1, n - 1]] = True  # a block's first and last row, the table's ends
    kinds = rng.integers(0, 5, n)
    codes[bad & (kinds == 0)] = -1
    ts[bad & (kinds == 1)] = NAT
    lat[bad & (kinds == 2)] = np.nan
    lat[bad & (kinds == 3)] = 95.0
    lat[bad & (kinds == 4)], lon[bad & (kinds == 4)] = 0.0, 0.0
    if threads > 2:  # a whole block invalid
        codes[at[0]:at[1]] = -1
    want = valid_reference(codes, ts, lat, lon, drop_zero)
    got = valid_rows_threaded(codes, ts, lat, lon, drop_zero, threads)
    assert want[1] and got[1]
    assert got[0].dtype == np.int64 and np.array_equal(got[0], want[0])


@pytest.mark.parametrize("threads", [2, 3])
def test_an_order_broken_only_between_two_blocks_is_seen(threads):
    """Each block in order, the first valid row of a block before the last valid row of the one
    before it: the table is not in order (it must then be sorted)."""
    n = 6_000
    codes = np.zeros(n, dtype=np.int32)
    ts = np.arange(n, dtype=np.int64) * 10
    lat, lon = np.full(n, 25.0), np.full(n, 110.0)
    c = int(cuts(n, threads)[0])
    ts[c:] -= 10 * c + 5  # the second block starts earlier than the first ended; each block stays in order
    codes[c - 1] = -1  # the first block's last row is invalid: the one before it decides
    assert not valid_reference(codes, ts, lat, lon, True)[1]
    assert not valid_rows_threaded(codes, ts, lat, lon, True, threads)[1]
    ts[c:] = ts[c:] + 10 * c  # now after it: in order again, equal pairs allowed
    ts[c] = ts[c - 2]
    assert valid_reference(codes, ts, lat, lon, True)[1]
    assert valid_rows_threaded(codes, ts, lat, lon, True, threads)[1]


@pytest.mark.parametrize("threads", THREADS)
def test_repeats_in_threads_keep_the_first_of_each_pair(threads):
    n = 8_003
    rng = np.random.default_rng(threads)
    codes = np.sort(rng.integers(0, 30, n)).astype(np.int32)
    ts = np.sort(rng.integers(0, 3_000, n)).astype(np.int64)  # (vehicle, ts) order, many equal pairs
    rows = np.sort(rng.choice(n, n - 500, replace=False)).astype(np.int64)
    at = cuts(rows.size, threads)
    run = [rows[k] for k in range(at[0] - 3, at[0] + 3)] if at.size else []
    for r in run[1:]:  # a run of equal pairs across the first block boundary
        codes[r], ts[r] = codes[run[0]], ts[run[0]]
    for c in at[1:]:  # a repeat on each side of the other boundaries
        r0, r1 = rows[c - 1], rows[c]
        codes[r1], ts[r1] = codes[r0], ts[r0]
    key = codes[rows].astype(np.int64) * 10_000 + ts[rows]
    assert np.all(key[1:] >= key[:-1])
    want = rows[np.r_[True, key[1:] != key[:-1]]]
    got = rows.copy()
    m = first_of_repeats_threaded(got, codes, ts, threads)
    assert m == want.size < rows.size and np.array_equal(got[:m], want)


def jumps_reference(rows, vehicle, ts, lat, lon, max_mps, min_jump_m):
    from features.geo import haversine_m

    i, p = rows[1:], rows[:-1]
    d = haversine_m(lat[p], lon[p], lat[i], lon[i])
    dt = (ts[i] - ts[p]) / 1e9
    fast = np.r_[False, (vehicle[i] == vehicle[p]) & (d > min_jump_m) & (d > max_mps * dt), False]
    out = fast[:-1] & fast[1:]
    out[[0, -1]] = False
    return out


@pytest.mark.parametrize("threads", THREADS)
def test_jumps_in_threads_are_the_rule(threads):
    n = 10_007
    codes, ts, lat, lon, rng = columns(n, 40 + threads)
    ts = ts * 1_000_000_000
    lat = 25.0 + np.cumsum(rng.normal(0, 1e-4, n))
    lon = 110.0 + np.cumsum(rng.normal(0, 1e-4, n))
    rows = np.sort(rng.choice(n, n - 300, replace=False)).astype(np.int64)
    at = cuts(rows.size, threads)
    edges = np.r_[at[0::2], at[1::2] - 1, 1, rows.size - 2]  # a block's first or last fix, the ends' neighbours
    away = np.arange(5, rows.size - 5, 7)
    away = away[np.min(np.abs(away[:, None] - np.r_[at, 0, rows.size][None, :]), axis=1) > 3]
    spikes = np.r_[rng.choice(away, 60, replace=False), edges]
    lat[rows[spikes]] += 0.5  # tens of kilometres away from both neighbours in seconds
    want = jumps_reference(rows, codes, ts, lat, lon, 150 / 3.6, 100.0)
    got = jumps_threaded(rows, codes, ts, lat, lon, 150 / 3.6, 100.0, threads)
    v = codes[rows]
    alone = (v[spikes - 1] == v[spikes]) & (v[spikes] == v[spikes + 1])  # a jump needs both neighbours of its vehicle
    assert alone[-edges.size:].all() and want[spikes[alone]].all() and want.sum() == alone.sum() > 50
    assert got.dtype == np.bool_ and np.array_equal(got, want)
    assert ARC_M_PER_DEG > 0  # the kernel's cheap bound is in metres per degree of the same sphere


@pytest.mark.parametrize("threads", [2, 3])
def test_no_rows_and_fewer_rows_than_threads(threads):
    for n in (0, 1, 2):
        codes, ts, lat, lon, _ = columns(n, 3)
        codes = codes.astype(np.int32)
        rows, in_order = valid_rows_threaded(codes, ts, lat, lon, True, threads)
        assert np.array_equal(rows, np.arange(n)) and in_order
        assert first_of_repeats_threaded(rows.copy(), codes, ts, threads) == n
        assert not jumps_threaded(rows, codes, ts, lat, lon, 1.0, 0.0, threads).any()


def vehicle_ids(n: int, seed: int) -> list:
    """Plates with missing values, an empty id, non-ASCII text and ids only one block holds."""
    rng = np.random.default_rng(seed)
    plates = np.array(["桂C12345", "桂C1234", "桂A00001", "", "x", "X", "桂C12345 ", "é", "e"], dtype=object)
    ids = plates[rng.integers(0, plates.size, n)].tolist()
    if n:
        for i in rng.choice(n, size=max(1, n // 10), replace=False):
            ids[i] = None
        ids[-1] = "只在最后"  # held by the last block alone
    return ids


@pytest.mark.parametrize("dtype", ["str", pd.StringDtype("pyarrow"), pd.ArrowDtype(pa.string()), pd.ArrowDtype(pa.large_string())])
@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("n", [0, 1, 5, 1_000])
def test_text_ids_coded_in_threads_are_factorised_and_sorted(dtype, threads, n):
    """The codes follow the sorted ids whichever block met an id first; missing ids are -1."""
    ids = pd.Series(vehicle_ids(n, n + threads), dtype=dtype)
    text = arrow_text(ids)
    assert text is not None
    codes, values = sorted_codes_threaded(text, threads)
    want_codes, want_values = pd.factorize(pd.Series(vehicle_ids(n, n + threads), dtype=object), sort=True)
    assert codes.dtype == np.int32 and values.dtype == object
    assert values.tolist() == sorted(v for v in set(vehicle_ids(n, n + threads)) if v is not None)
    assert np.array_equal(codes, want_codes) and values.tolist() == list(want_values)


def test_text_ids_in_many_chunks_keep_their_rows():
    """An Arrow column of several chunks (a Parquet file's row groups), blocks cutting across them."""
    ids = vehicle_ids(900, 3)
    chunked = pa.chunked_array([pa.array(ids[:100]), pa.array(ids[100:101]), pa.array(ids[101:], type=pa.string())])
    for threads in (1, 2, 7):
        codes, values = sorted_codes_threaded(chunked, threads)
        assert [values[c] if c >= 0 else None for c in codes] == ids


def test_chunks_with_their_own_dictionaries_are_read_through_one():
    """Chunks of one column encoded apart (each its own dictionary) are unified; chunks sharing
    the dictionary (what Arrow's encoding of a chunked column gives) are read through it once."""
    a = pa.array(["b", None, "a"]).dictionary_encode()
    b = pa.array(["c", "a", "c"]).dictionary_encode()
    d, idx = _one_dictionary(pa.chunked_array([a, b]))
    assert [d[i].as_py() if i is not None else None for i in idx.to_pylist()] == ["b", None, "a", "c", "a", "c"]
    shared = pc.dictionary_encode(pa.chunked_array([pa.array(["x", "y"]), pa.array(["y", "z"])]))
    d, idx = _one_dictionary(shared)
    assert sorted(d.to_pylist()) == ["x", "y", "z"] and idx.num_chunks == 2
    d, idx = _one_dictionary(pc.dictionary_encode(pa.chunked_array([], type=pa.string())))
    assert len(d) == 0 and len(idx) == 0


def test_only_arrow_text_takes_the_threaded_coding():
    for values in (pd.Series(["a", "b"], dtype=object), pd.Series(["a", "b"], dtype=pd.StringDtype("python")),
                   pd.Series(["a", "b"], dtype="category"), pd.Series([1, 2], dtype=pd.ArrowDtype(pa.int64()))):
        assert arrow_text(values) is None
