"""Compiled passes behind ``features.trajectories``' cleaning: one pass each over the fixes.

Rows are positions in the input columns; ``codes`` are vehicle codes (-1: no vehicle) and ``ts``
int64 nanoseconds (``NaT``: the int64 minimum). Nothing here allocates per fix.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from features.stops_kernel import haversine_scalar

ARC_M_PER_DEG = 6_371_008.8 * np.pi / 180.0  # metres of arc per degree on ``haversine_scalar``'s sphere


@njit(cache=True)
def valid_rows(codes, ts, lat, lon, drop_zero):
    """Rows with a vehicle, a time and a finite position (with ``drop_zero`` also in range and not
    (0, 0)), and whether they already come in (vehicle, ts) order (equal pairs allowed)."""
    rows = np.empty(codes.size, dtype=np.int64)
    m, in_order, _, _ = valid_rows_into(codes, ts, lat, lon, drop_zero, 0, codes.size, rows)
    return rows[:m], in_order


@njit(cache=True, nogil=True)
def valid_rows_into(codes, ts, lat, lon, drop_zero, k0, k1, rows):
    """``valid_rows`` of rows ``k0..k1-1``, written to ``rows`` from position ``k0`` on (one block
    of ``features.fix_threads.valid_rows_threaded``): how many, whether they come in order, and the
    first and the last of them (-1 when there is none)."""
    m = k0
    in_order = True
    prev_c = -1
    prev_t = np.iinfo(np.int64).min
    for i in range(k0, k1):
        y = lat[i]
        x = lon[i]
        if codes[i] < 0 or ts[i] == np.iinfo(np.int64).min or not (np.isfinite(y) and np.isfinite(x)):
            continue
        if drop_zero and (abs(y) > 90.0 or abs(x) > 180.0 or (abs(y) < 1e-9 and abs(x) < 1e-9)):
            continue
        if codes[i] < prev_c or (codes[i] == prev_c and ts[i] < prev_t):
            in_order = False
        prev_c = codes[i]
        prev_t = ts[i]
        rows[m] = i
        m += 1
    if m == k0:
        return 0, in_order, -1, -1
    return m - k0, in_order, rows[k0], rows[m - 1]


@njit(cache=True)
def first_of_repeats(rows, codes, ts):
    """Keep, in place, the first of ``rows`` (in (vehicle, ts) order) with equal (vehicle, ts);
    returns how many rows remain at the front of ``rows``."""
    return first_of_repeats_block(rows, codes, ts, 0, rows.size, -1)


@njit(cache=True, nogil=True)
def first_of_repeats_block(rows, codes, ts, k0, k1, before):
    """``first_of_repeats`` of ``rows[k0:k1]``, kept at the front of that block; ``before`` is the
    row just before the block (-1: none). A row is a repeat when its (vehicle, ts) is its
    predecessor's: in (vehicle, ts) order equal pairs are neighbours, so this is the same as
    comparing with the last row kept, and blocks can be kept at once. Returns how many remain."""
    m = k0
    last = before
    for k in range(k0, k1):
        r = rows[k]
        if last >= 0 and codes[r] == codes[last] and ts[r] == ts[last]:
            last = r
            continue
        last = r
        rows[m] = r
        m += 1
    return m - k0


@njit(cache=True)
def jumps_at(rows, vehicle, ts, lat, lon, max_mps, min_jump_m):
    """For the fixes ``rows`` (in (vehicle, ts) order): whether each is more than ``max_mps`` and
    ``min_jump_m`` away from both its neighbours of the same vehicle (see ``jump_mask``)."""
    out = np.zeros(rows.size, dtype=np.bool_)
    jumps_into(rows, vehicle, ts, lat, lon, max_mps, min_jump_m, 0, rows.size, out)
    return out


@njit(cache=True, nogil=True)
def jumps_into(rows, vehicle, ts, lat, lon, max_mps, min_jump_m, k0, k1, out):
    """``jumps_at`` of the fixes ``rows[k0:k1]`` into ``out[k0:k1]`` (one block of
    ``features.fix_threads.jumps_threaded``; the neighbours are read across the block's ends).

    ``fast`` is whether the step into fix k (from fix k-1, of the same vehicle) is impossible; there
    is no step into the first fix nor out of the last, so they are never jumps. Written out in the
    loop: a call per fix to a helper made the pass eight times slower."""
    n = rows.size
    prev = False
    for k in range(k0, k1 + 1):
        fast = False
        if 0 < k < n:
            i = rows[k]
            p = rows[k - 1]
            if vehicle[i] == vehicle[p]:
                step = max_mps * (ts[i] - ts[p]) / 1e9
                # the great circle is no longer than a meridian then a parallel: R·(|Δlat| + |Δlon|)
                if (abs(lat[i] - lat[p]) + abs(lon[i] - lon[p])) * ARC_M_PER_DEG > max(min_jump_m, step) * (1.0 - 1e-9):
                    d = haversine_scalar(lat[p], lon[p], lat[i], lon[i])
                    fast = d > min_jump_m and d > step
        if k > k0:
            out[k - 1] = prev and fast
        prev = fast


@njit(cache=True)
def gather(rows, drop, codes, ts, lat, lon):
    """The columns at ``rows`` where ``drop`` is false (``drop`` empty: every row), in one pass:
    rows, vehicle codes (int32), ts, lat, lon."""
    n = rows.size
    m = n
    if drop.size:
        m = n - np.count_nonzero(drop)
    r_out = np.empty(m, dtype=np.int64)
    c = np.empty(m, dtype=np.int32)
    t = np.empty(m, dtype=np.int64)
    la = np.empty(m)
    lo = np.empty(m)
    gather_into(rows, drop, 0, n, 0, codes, ts, lat, lon, r_out, c, t, la, lo)
    return r_out, c, t, la, lo


@njit(cache=True, nogil=True)
def gather_into(rows, drop, k0, k1, j0, codes, ts, lat, lon, r_out, c, t, la, lo):
    """``gather`` of ``rows[k0:k1]``, written from position ``j0`` of the outputs given (one block
    of a gather in threads, ``features.fix_threads``)."""
    j = j0
    for k in range(k0, k1):
        if drop.size and drop[k]:
            continue
        r = rows[k]
        r_out[j] = r
        c[j] = codes[r]
        t[j] = ts[r]
        la[j] = lat[r]
        lo[j] = lon[r]
        j += 1


@njit(cache=True)
def compact(at, drop, r, c, t, la, lo):
    """``gather`` into the columns themselves, for columns this code owns (a sorted copy, never the
    caller's frame): the entries at ``at`` (increasing) where ``drop`` is false (``drop`` empty:
    all) move to the front in order. Returns how many there are."""
    j = 0
    for k in range(at.size):
        if drop.size and drop[k]:
            continue
        i = at[k]
        r[j] = r[i]
        c[j] = c[i]
        t[j] = t[i]
        la[j] = la[i]
        lo[j] = lo[i]
        j += 1
    return j


@njit(cache=True)
def code_presence(raw, n):
    """Which of the codes 0..n-1 occur in ``raw`` (-1, a missing value, is skipped): one pass, where
    ``np.bincount`` would first widen a categorical's int8/int16 codes to int64 twice over."""
    seen = np.zeros(n, dtype=np.bool_)
    for i in range(raw.size):
        c = raw[i]
        if c >= 0:
            seen[c] = True
    return seen


@njit(cache=True)
def _breaks(vehicle, ts, gap_ns, out):
    """Write to ``out`` (when not empty) each fix that starts a run: the first fix, a fix of another
    vehicle than the one before it, or (``gap_ns`` ≥ 0) one more than ``gap_ns`` after it; return
    how many."""
    n = ts.size
    m = 0
    for i in range(n):
        if i == 0 or vehicle[i] != vehicle[i - 1] or (gap_ns >= 0 and ts[i] - ts[i - 1] > gap_ns):
            if out.size:
                out[m] = i
            m += 1
    return m


def run_starts(vehicle: np.ndarray, ts: np.ndarray, gap_ns: int) -> np.ndarray:
    """The first fix of each run of fixes sorted by (vehicle, ts): a run ends where the vehicle
    changes or (``gap_ns`` ≥ 0) where consecutive fixes are more than ``gap_ns`` apart. Two passes
    (count, then fill): no boolean column per fix."""
    empty = np.empty(0, dtype=np.int64)
    out = np.empty(_breaks(vehicle, ts, gap_ns, empty), dtype=np.int64)
    _breaks(vehicle, ts, gap_ns, out)
    return out
