"""``features.fix_sort.group_sort`` puts fixes in the order of a stable sort on (vehicle, time):
compared with ``np.lexsort`` (stable) on vehicles of every size (insertion-sorted, radix-sorted,
already in order), times in whole seconds and in nanoseconds, spans needing one to six radix
passes, and many repeated times (the first of equal rows must stay first). ``table_order`` (the
loader's order of a whole fix table) is compared with ``np.lexsort`` and dropping repeats likewise,
on feeds in order but for a few late rows (merged back), shuffled ones (radix-sorted) and rows
without a vehicle or a time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.fix_sort import MAX_RADIX_BITS, MIN_RADIX_BITS, SHORT, _digit_bits, group_sort, table_order
from features.trajectories import NS, clean_arrays, fix_arrays


def lexsorted(rows, codes, ts, lat, lon):
    order = rows[np.lexsort((ts[rows], codes[rows]))]
    return order, codes[order], ts[order], lat[order], lon[order]


def random_feed(seed: int, whole_seconds: bool, span_s: float) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    sizes = np.concatenate([rng.integers(1, SHORT + 2, 40), rng.integers(SHORT + 2, 3_000, 12), [0, 2, 20_000]])
    codes = np.repeat(np.arange(sizes.size, dtype=np.int32), sizes)
    n = codes.size
    ts = rng.integers(0, int(span_s), n).astype(np.int64) * NS
    if not whole_seconds:
        ts += rng.integers(0, NS, n)
    ts[rng.random(n) < 0.2] = ts[0]  # many repeats of one time, across vehicles
    rep = rng.random(n) < 0.1
    ts[1:][rep[1:]] = ts[:-1][rep[1:]]  # repeats within a vehicle
    ts += 1_600_000_000 * NS
    ordered = codes == 3  # one vehicle already in time order
    ts[ordered] = np.sort(ts[ordered])
    perm = rng.permutation(n)
    codes, ts = codes[perm], ts[perm]
    lat, lon = rng.uniform(-60, 60, n), rng.uniform(-180, 180, n)
    rows = np.sort(rng.choice(n, size=n - n // 20, replace=False))  # some rows are not valid
    return rows, codes, ts, lat, lon, sizes.size


@pytest.mark.parametrize("whole_seconds", [True, False])
@pytest.mark.parametrize("span_s", [100.0, 3.0e7, 7.0e9])
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_group_sort_is_a_stable_sort_by_vehicle_then_time(seed, whole_seconds, span_s, threads):
    """In threads too: each thread writes a block of the rows (a vehicle's rows of a later block after
    an earlier block's, or equal times would swap) and sorts a block of vehicles."""
    rows, codes, ts, lat, lon, n_groups = random_feed(seed, whole_seconds, span_s)
    got = group_sort(rows, codes, ts, lat, lon, n_groups, threads)
    want = lexsorted(rows, codes, ts, lat, lon)
    for g, w, what in zip(got, want, ("rows", "codes", "ts", "lat", "lon"), strict=True):
        assert np.array_equal(g, w), what


@pytest.mark.parametrize("m", [SHORT + 1, 1_000, 20_000, 108_000, 10**7])
@pytest.mark.parametrize("bits", [1, 8, 11, 17, 24, 27, 33, 62, 63])
def test_radix_digits_cover_the_keys_in_as_few_passes_as_allowed(bits, m):
    """Enough passes of digits for every bit of the largest key, each shift below 64 (a wider shift
    is undefined), digits within their bounds and no more counts than half the keys."""
    top = (1 << bits) - 1
    digit, passes = _digit_bits(top, m)
    assert digit * passes >= bits and digit * (passes - 1) < 64
    assert digit <= MAX_RADIX_BITS and (digit <= MIN_RADIX_BITS or 1 << (digit + 1) <= m)
    cap = max(MIN_RADIX_BITS, min(MAX_RADIX_BITS, m.bit_length() - 2))
    assert passes == -(-bits // cap)  # no more passes than the widest allowed digit needs


def test_group_sort_of_nothing_and_of_fewer_rows_than_threads():
    empty = np.empty(0, dtype=np.int64)
    for threads in (1, 2):
        for n_groups in (3, 0):
            got = group_sort(empty, np.empty(0, dtype=np.int32), empty, np.empty(0), np.empty(0), n_groups, threads)
            assert [g.size for g in got] == [0] * 5 and got[1].dtype == np.int32
    rows, codes, ts = np.array([1]), np.array([0, 1], dtype=np.int32), np.array([5, 4], dtype=np.int64)
    got = group_sort(rows, codes, ts, np.zeros(2), np.zeros(2), 2, 4)
    assert got[0].tolist() == [1] and got[1].tolist() == [1] and got[2].tolist() == [4]


def test_times_centuries_apart_are_sorted_too():
    """Times more than 292 years apart overflow an int64 difference: that vehicle is sorted by comparison."""
    ts = pd.to_datetime(["2100-01-01", "1700-01-01", "2000-05-05", "1700-01-01", "1800-03-03"] * 20).to_numpy().astype("datetime64[ns]").view("int64")
    codes = np.repeat(np.arange(2, dtype=np.int32), 50)
    rows = np.arange(ts.size)
    lat, lon = np.arange(ts.size, dtype=float), np.zeros(ts.size)
    got = group_sort(rows, codes, ts, lat, lon, 2)
    for g, w in zip(got, lexsorted(rows, codes, ts, lat, lon), strict=True):
        assert np.array_equal(g, w)


def test_cleaning_a_shuffled_feed_keeps_the_first_of_repeated_rows():
    rows, codes, ts, lat, lon, _ = random_feed(3, True, 86_400.0)
    fixes = pd.DataFrame({"vehicle_id": pd.Series(codes).map(lambda c: f"v{c:03d}"), "ts": ts.astype("datetime64[ns]"),
                          "lat": lat, "lon": lon})
    a, _, _ = fix_arrays(fixes)
    order = np.lexsort((ts, codes))
    first = np.ones(order.size, dtype=bool)
    first[1:] = (codes[order][1:] != codes[order][:-1]) | (ts[order][1:] != ts[order][:-1])
    assert np.array_equal(a.rows, order[first])
    cleaned, dropped, rep = clean_arrays(fixes)
    kept = np.sort(np.concatenate([cleaned.rows, dropped.rows]))
    assert np.array_equal(kept, np.sort(order[first])) and rep.duplicates == order.size - first.sum()
    for f in (cleaned, dropped):  # every column of every kept fix is that of its input row
        assert np.array_equal(fixes["vehicle_id"].to_numpy(object)[f.rows], f.vehicles[f.vehicle])
        assert np.array_equal(fixes["ts"].to_numpy().view("int64")[f.rows], f.ts)
        assert np.array_equal(fixes["lat"].to_numpy()[f.rows], f.lat)
        assert np.array_equal(fixes["lon"].to_numpy()[f.rows], f.lon)


def lexsorted_table(codes, ts):
    """What the loader did before ``table_order``: a stable lexsort, repeats of (vehicle, ts) dropped."""
    order = np.lexsort((ts, codes))
    sc, st = codes[order], ts[order]
    same = sc[1:] == sc[:-1]
    dup = np.r_[False, same & (st[1:] == st[:-1])]
    return order[~dup], int(dup.sum()), int(np.count_nonzero(same & (np.diff(order) < 0)))


def nearly_in_order(seed: int, late_share: float) -> tuple[np.ndarray, np.ndarray, int]:
    """A feed written vehicle by vehicle in time order, the vehicles not in code order, with a
    share of rows moved late (a terminal's backlog sent after a reconnection) and some repeats."""
    rng = np.random.default_rng(seed)
    sizes = np.concatenate([rng.integers(1, 200, 30), rng.integers(1_000, 5_000, 8), [0]])
    n_groups = sizes.size
    codes = np.repeat(rng.permutation(n_groups).astype(np.int32), sizes)
    ts = np.concatenate([np.sort(rng.integers(0, 10**6, k)) for k in sizes]).astype(np.int64) * NS
    rep = np.r_[False, (rng.random(ts.size - 1) < 0.05) & (codes[1:] == codes[:-1])]  # within a vehicle
    ts[rep] = ts[np.flatnonzero(rep) - 1]
    late = np.flatnonzero(rng.random(ts.size) < late_share)
    moved = np.r_[np.setdiff1d(np.arange(ts.size), late), late]  # the late rows at the end of the file
    return codes[moved], ts[moved], n_groups


@pytest.mark.parametrize("late_share", [0.0, 0.001, 0.01, 0.3])
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_table_order_is_lexsort_without_repeats(seed, late_share, threads):
    codes, ts, n_groups = nearly_in_order(seed, late_share)
    keep, repeats, late = table_order(codes, ts, n_groups, threads)
    want = lexsorted_table(codes, ts)
    assert np.array_equal(keep, want[0])
    assert (repeats, late) == want[1:]
    assert repeats > 0 and (late > 0) == (late_share > 0)


@pytest.mark.parametrize("whole_seconds", [True, False])
@pytest.mark.parametrize("threads", [1, 2])
def test_table_order_of_a_shuffled_feed_with_missing_vehicles_and_times(whole_seconds, threads):
    _, codes, ts, _, _, n_groups = random_feed(4, whole_seconds, 3.0e7)
    rng = np.random.default_rng(9)
    codes = codes.copy()
    codes[rng.random(codes.size) < 0.02] = -1  # no vehicle: sorted first, as lexsort puts them
    ts[rng.random(ts.size) < 0.02] = np.iinfo(np.int64).min  # NaT: the earliest time
    keep, repeats, late = table_order(codes, ts, n_groups, threads)
    want = lexsorted_table(codes, ts)
    assert np.array_equal(keep, want[0]) and (repeats, late) == want[1:]


def test_table_order_of_nothing_and_of_fewer_rows_than_threads():
    for threads in (1, 2):
        for n_groups in (3, 0):
            keep, repeats, late = table_order(np.empty(0, dtype=np.int16), np.empty(0, dtype=np.int64), n_groups, threads)
            assert keep.size == 0 and (repeats, late) == (0, 0)
    keep, repeats, late = table_order(np.array([0], dtype=np.int8), np.array([7], dtype=np.int64), 1, 4)
    assert keep.tolist() == [0] and (repeats, late) == (0, 0)


def test_a_late_row_at_an_equal_time_keeps_the_file_order():
    """A late row whose time equals an earlier one's sorts after it (stable), and is then the repeat dropped."""
    ts = np.r_[np.arange(70) * 10, 30].astype(np.int64)  # one vehicle, in order, then a row back at time 30
    codes = np.zeros(ts.size, dtype=np.int32)
    keep, repeats, late = table_order(codes, ts, 1)
    assert (repeats, late) == (1, 1)  # the few-late path: 1 of 71 rows
    assert np.array_equal(keep, np.arange(70))  # the first of the two rows at time 30 is the one kept
