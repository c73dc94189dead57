"""features.grouped: the compiled group passes give what the pandas they replace gave, to the bit."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from features.grouped import trailing_nanmedian, worst_rows


def _lags_median(values, ent, code, month, window):
    """What features.ledgers computed before: sort, shift 1..window within the group, nanmedian."""
    d = pd.DataFrame({"ent": ent, "code": code, "month": month, "v": values})
    d["ent"] = d["ent"].where(d["ent"] >= 0)  # -1: a missing key, which groupby drops
    d["code"] = d["code"].where(d["code"] >= 0)
    d = d.sort_values(["ent", "code", "month"], kind="stable")
    grp = d.groupby(["ent", "code"], sort=False)["v"]
    lags = np.column_stack([grp.shift(k).to_numpy(dtype="float64") for k in range(1, window + 1)])
    count = np.sum(~np.isnan(lags), axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        med = np.nanmedian(lags, axis=1)
    return pd.Series(med, index=d.index).sort_index().to_numpy(), pd.Series(count, index=d.index).sort_index().to_numpy()


@pytest.mark.parametrize("seed", range(6))
def test_trailing_median_is_the_lags_median(seed):
    rng = np.random.default_rng(seed)
    n = 3000
    ent = rng.integers(-1, 40, n)  # some rows in no group
    code = rng.integers(0, 3, n)
    month = rng.integers(0, 60, n)
    values = np.round(rng.gamma(2.0, 1.0, n), 2)  # rounded: ties and equal middles
    values[rng.random(n) < 0.3] = np.nan  # shutdown months: not a value
    for window in (1, 2, 12):
        med, count = trailing_nanmedian(values, [ent, code], month, window)
        want_med, want_count = _lags_median(values, ent, code, month, window)
        np.testing.assert_array_equal(count, want_count)
        assert np.array_equal(med, want_med, equal_nan=True)
        assert med.tobytes() == np.where(np.isnan(want_med), med, want_med).tobytes()  # bit for bit


def test_trailing_median_reads_only_earlier_rows_of_the_group():
    # one enterprise, one code, months out of order: each month sees the up-to-2 months before it
    values = np.array([4.0, 1.0, np.nan, 10.0, 2.0])
    month = np.array([3, 0, 1, 4, 2])  # sorted: 1.0 (m0), nan (m1), 2.0 (m2), 4.0 (m3), 10.0 (m4)
    med, count = trailing_nanmedian(values, [np.zeros(5, int)], month, 2)
    # m3 (4.0) reads m1 (nan) and m2 (2.0); m4 reads m2, m3: (2 + 4) / 2; m0 nothing; m1 reads m0
    assert count.tolist() == [1, 0, 1, 2, 1]
    np.testing.assert_array_equal(med, [2.0, np.nan, 1.0, 3.0, 1.0])
    # another group never reads across: the same rows under two codes
    med2, count2 = trailing_nanmedian(values, [np.array([0, 1, 0, 1, 0])], month, 12)
    # code 0 holds m3 (4.0), m1 (nan), m2 (2.0): m3 reads 2.0; code 1 holds m0 (1.0), m4: m4 reads 1.0
    assert count2.tolist() == [1, 0, 0, 1, 0]
    np.testing.assert_array_equal(med2, [2.0, np.nan, np.nan, 1.0, np.nan])


def test_trailing_median_empty_and_bad_window():
    med, count = trailing_nanmedian(np.empty(0), [np.empty(0, int)], np.empty(0, int), 12)
    assert med.size == 0 and count.size == 0
    with pytest.raises(ValueError, match="window"):
        trailing_nanmedian(np.ones(3), [np.zeros(3, int)], np.arange(3), -1)


def _pandas_worst(group, value, time, take):
    """What the trip and stop features did: a stable descending sort, then each group's first row."""
    d = pd.DataFrame({"g": group, "v": value, "t": time})[take]
    d = d[d["g"] >= 0].sort_values(["v", "t"], ascending=[False, False]).drop_duplicates("g")
    return np.sort(d.index.to_numpy())


@pytest.mark.parametrize("seed", range(6))
def test_worst_rows_is_the_first_row_of_a_descending_sort(seed):
    rng = np.random.default_rng(seed)
    n = 2000
    group = rng.integers(-1, 50, n)
    value = rng.integers(0, 4, n).astype(float)  # few values: ties decided by the time, then the row
    value[rng.random(n) < 0.1] = np.nan
    time = pd.Timestamp("2023-01-01").to_datetime64() + rng.integers(0, 20, n) * np.timedelta64(1, "h")
    time[rng.random(n) < 0.05] = np.datetime64("NaT")
    take = rng.random(n) < 0.7
    got = worst_rows(group, value, time, take)
    np.testing.assert_array_equal(got, _pandas_worst(group, value, time, take))
    np.testing.assert_array_equal(worst_rows(group, value, time), _pandas_worst(group, value, time, np.ones(n, bool)))


def test_worst_rows_order_of_preference():
    t = np.array([5, 9, 9, 1, 3], dtype="int64")
    # one group: 2.0 beats 1.0 whatever the time; between the two 2.0, the later time; equal: the first
    assert worst_rows(np.zeros(5, int), np.array([1.0, 2.0, 2.0, np.nan, 2.0]), t).tolist() == [1]
    assert worst_rows(np.zeros(5, int), np.array([1.0, 2.0, 2.0, np.nan, 2.0]), t, np.array([1, 0, 1, 1, 1], bool)).tolist() == [2]
    # any value beats a missing one; among missing values the later time
    assert worst_rows(np.zeros(3, int), np.array([np.nan, 0.5, np.nan]), np.array([9, 1, 2])).tolist() == [1]
    assert worst_rows(np.zeros(2, int), np.array([np.nan, np.nan]), np.array([1, 2])).tolist() == [1]
    assert worst_rows(np.array([-1, -1]), np.array([1.0, 2.0]), np.array([1, 2])).size == 0
    with pytest.raises(ValueError, match="one entry per row"):
        worst_rows(np.zeros(2, int), np.ones(3), np.ones(2, "int64"))
