"""Compiled passes over rows in groups, for what features compute at every as-of date.

- ``trailing_nanmedian``: the ledger cross-check's own intensity (``features.ledgers``). For each
  row, the median of the non-missing values among the previous ``window`` rows of its group. It
  gives what ``np.nanmedian`` gives on the stack of ``groupby().shift(k)`` columns, k = 1..window,
  to the bit (the mean of the two middle values, ``(lo + hi) / 2``, as ``np.ma.median`` computes
  it; an odd count takes the middle value twice), without building that matrix.
- ``worst_rows``: each group's worst row by a value then a time, both descending, ties to the
  earlier row: the row a stable descending sort puts first, without sorting (the evidence a
  trip or stop feature quotes, ``features.trajectory_features``).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _trailing(values, new, window):
    n = values.size
    med = np.full(n, np.nan)
    count = np.zeros(n, dtype=np.int64)
    buf = np.empty(max(window, 1))
    first = 0
    for i in range(n):
        if new[i]:
            first = i
        m = 0
        for j in range(max(first, i - window), i):
            v = values[j]
            if np.isnan(v):
                continue
            k = m  # insertion into the sorted buffer
            while k > 0 and buf[k - 1] > v:
                buf[k] = buf[k - 1]
                k -= 1
            buf[k] = v
            m += 1
        count[i] = m
        if m > 0:
            hi = m // 2
            lo = hi if m % 2 == 1 else hi - 1
            med[i] = (buf[lo] + buf[hi]) / 2.0
    return med, count


def trailing_nanmedian(values: np.ndarray, keys: list[np.ndarray], order_by: np.ndarray, window: int
                       ) -> tuple[np.ndarray, np.ndarray]:
    """(median, count) of each row's previous ``window`` non-missing ``values`` in its group.

    Rows are grouped by the integer ``keys`` (e.g. ``pd.factorize`` codes) and ordered within their
    group by ``order_by``, ties in input order. A row with a negative code is in no group, as
    pandas' ``groupby`` drops missing keys: its median is NaN, its count 0. Results are in input
    order; the count is of the values the median was taken over (0 where none, the median then NaN)."""
    values = np.ascontiguousarray(values, dtype=np.float64)
    n = values.size
    if window < 0:
        raise ValueError(f"window must be at least 0, got {window}")
    if n == 0:
        return np.empty(0), np.zeros(0, dtype=np.int64)
    order = np.lexsort((order_by, *reversed(keys)))  # stable: ties in input order
    grouped = np.ones(n, dtype=bool)
    for k in keys:
        grouped &= np.asarray(k) >= 0
    sk = [np.asarray(k)[order] for k in keys]
    new = np.ones(n, dtype=bool)
    if n > 1:
        same = np.ones(n - 1, dtype=bool)
        for k in sk:
            same &= k[1:] == k[:-1]
        new[1:] = ~same
    med_s, count_s = _trailing(values[order], new, int(window))
    med, count = np.empty(n), np.empty(n, dtype=np.int64)
    med[order], count[order] = med_s, count_s
    med[~grouped], count[~grouped] = np.nan, 0  # no valid row shares its keys: it was read by none
    return med, count


@njit(cache=True, nogil=True)
def _worst(group, value, time, take, n_groups):
    best = np.full(n_groups, -1, dtype=np.int64)
    for r in range(group.size):
        g = group[r]
        if g < 0 or not take[r]:
            continue
        b = best[g]
        if b < 0:
            best[g] = r
            continue
        vr, vb = value[r], value[b]
        if np.isnan(vr):  # a missing value sorts last: never better
            if not np.isnan(vb) or time[r] <= time[b]:
                continue
        elif np.isnan(vb) or vr > vb or (vr == vb and time[r] > time[b]):
            pass
        else:
            continue
        best[g] = r
    return best


def worst_rows(group: np.ndarray, value: np.ndarray, time: np.ndarray, take: np.ndarray | None = None) -> np.ndarray:
    """Row of each group's worst row among ``take``: the highest ``value`` (NaN lowest), then the
    latest ``time`` (datetime64 or int64 ns; NaT earliest), then the first in input order. That is
    the first row of each group after a stable sort by both, descending, with missing values last
    (``sort_values([value, time], ascending=False)`` then ``drop_duplicates(group)``). ``group`` are
    integer codes (negative: in no group). Rows in ascending order, one per group that has any."""
    group = np.asarray(group, dtype=np.int64)
    value = np.ascontiguousarray(value, dtype=np.float64)
    time = np.asarray(time)
    if time.dtype.kind == "M":
        time = time.astype("datetime64[ns]").view(np.int64)
    time = np.ascontiguousarray(time, dtype=np.int64)
    take = np.ones(group.size, dtype=bool) if take is None else np.ascontiguousarray(take, dtype=bool)
    if not (group.size == value.size == time.size == take.size):
        raise ValueError("group, value, time and take must have one entry per row")
    if group.size == 0:
        return np.empty(0, dtype=np.int64)
    best = _worst(group, value, time, take, int(group.max()) + 1 if group.max() >= 0 else 0)
    return np.sort(best[best >= 0])
