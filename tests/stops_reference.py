"""The stop scan as it was before the bounds of ``features.stops_scan`` (kept to compare with).

Every window past the box test got its hull (rebuilt from the window whenever the window's start
moved) and its rectangle; the box came from monotone deques on every fix. ``tests/test_stops_scan.py``
checks the fast scan finds exactly the same stops.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from features.stops_kernel import (
    _grow,
    _inside_or_on,
    _pop_front,
    _push_max,
    _push_min,
    _surely_wide,
    convex_hull,
    geodesic_m,
    hull_diagonal,
)


@njit(cache=True)
def scan_stops_reference(lat, lon, ts, seg_start, seg_end, max_diameter, min_duration):
    """Stops in each run ``seg_start[k]..seg_end[k]-1`` of fixes sorted by time.

    ``ts`` and ``min_duration`` share one integer unit (nanoseconds). Returns three arrays per stop:
    first fix, last fix, and the fix that closed it (-1 when the run ended while stopped).
    """
    cap = 256
    out_lo = np.empty(cap, dtype=np.int64)
    out_hi = np.empty(cap, dtype=np.int64)
    out_close = np.empty(cap, dtype=np.int64)
    n_out = 0
    longest = 1
    for s in range(seg_start.size):
        longest = max(longest, seg_end[s] - seg_start[s])
    dq_minx = np.empty(longest, dtype=np.int64)
    dq_maxx = np.empty(longest, dtype=np.int64)
    dq_miny = np.empty(longest, dtype=np.int64)
    dq_maxy = np.empty(longest, dtype=np.int64)
    hx = np.empty(longest + 2)
    hy = np.empty(longest + 2)
    tx = np.empty(longest + 2)
    ty = np.empty(longest + 2)
    order = np.empty(longest + 2, dtype=np.int64)
    prefilter = 1.5 * max_diameter
    for s in range(seg_start.size):
        a = seg_start[s]
        b = seg_end[s]
        if b <= a:
            continue
        h_min_x = h_max_x = h_min_y = h_max_y = 0
        t_min_x = t_max_x = t_min_y = t_max_y = 0
        lo = a
        is_stopped = False
        previously_stopped = False
        hull_lo = -1
        hull_hi = -1
        hull_n = 0
        hull_diag = 0.0
        for i in range(a, b):
            # monotone deques of fix indices (slots count from 0 in each run) give the window's box
            t_min_x = _push_min(dq_minx, h_min_x, t_min_x, lon, i)
            t_max_x = _push_max(dq_maxx, h_max_x, t_max_x, lon, i)
            t_min_y = _push_min(dq_miny, h_min_y, t_min_y, lat, i)
            t_max_y = _push_max(dq_maxy, h_max_y, t_max_y, lat, i)
            if not is_stopped:
                while i - lo + 1 > 2 and ts[i] - ts[lo] >= min_duration:
                    lo += 1
                h_min_x = _pop_front(dq_minx, h_min_x, t_min_x, lo)
                h_max_x = _pop_front(dq_maxx, h_max_x, t_max_x, lo)
                h_min_y = _pop_front(dq_miny, h_min_y, t_min_y, lo)
                h_max_y = _pop_front(dq_maxy, h_max_y, t_max_y, lo)
            stopped_now = False
            n_win = i - lo + 1
            if n_win > 1:
                minx = lon[dq_minx[h_min_x]]
                maxx = lon[dq_maxx[h_max_x]]
                miny = lat[dq_miny[h_min_y]]
                maxy = lat[dq_maxy[h_max_y]]
                if geodesic_m(miny, minx, maxy, maxx) < prefilter:
                    if n_win == 2:
                        diag = geodesic_m(lat[lo], lon[lo], lat[i], lon[i])
                        hull_lo = -1
                    elif _surely_wide(lat, lon, lo, i, dq_minx[h_min_x], dq_maxx[h_max_x], dq_miny[h_min_y],
                                      dq_maxy[h_max_y], max_diameter, prefilter):
                        diag = max_diameter  # not a stop; the hull is not kept
                        hull_lo = -1
                    elif hull_lo == lo and hull_hi == i - 1:
                        if not _inside_or_on(hx, hy, hull_n, lon[i], lat[i]):
                            for k in range(hull_n):
                                tx[k] = hx[k]
                                ty[k] = hy[k]
                            tx[hull_n] = lon[i]
                            ty[hull_n] = lat[i]
                            hull_n = convex_hull(tx, ty, hull_n + 1, hx, hy, order)
                            hull_diag = hull_diagonal(hx, hy, hull_n)
                        hull_hi = i
                        diag = hull_diag
                    else:
                        for k in range(n_win):
                            tx[k] = lon[lo + k]
                            ty[k] = lat[lo + k]
                        hull_n = convex_hull(tx, ty, n_win, hx, hy, order)
                        hull_diag = hull_diagonal(hx, hy, hull_n)
                        hull_lo = lo
                        hull_hi = i
                        diag = hull_diag
                    if diag < max_diameter:
                        stopped_now = True
            if not stopped_now and previously_stopped and n_win > 1:
                if ts[i - 1] - ts[lo] >= min_duration:
                    if n_out == cap:
                        cap *= 2
                        out_lo = _grow(out_lo, cap)
                        out_hi = _grow(out_hi, cap)
                        out_close = _grow(out_close, cap)
                    out_lo[n_out] = lo
                    out_hi[n_out] = i - 1
                    out_close[n_out] = i
                    n_out += 1
                    lo = i
                    h_min_x = _pop_front(dq_minx, h_min_x, t_min_x, lo)
                    h_max_x = _pop_front(dq_maxx, h_max_x, t_max_x, lo)
                    h_min_y = _pop_front(dq_miny, h_min_y, t_min_y, lo)
                    h_max_y = _pop_front(dq_maxy, h_max_y, t_max_y, lo)
                    hull_lo = -1
            previously_stopped = stopped_now
            is_stopped = stopped_now
        if is_stopped and ts[b - 1] - ts[lo] >= min_duration:
            if n_out == cap:
                cap *= 2
                out_lo = _grow(out_lo, cap)
                out_hi = _grow(out_hi, cap)
                out_close = _grow(out_close, cap)
            out_lo[n_out] = lo
            out_hi[n_out] = b - 1
            out_close[n_out] = -1
            n_out += 1
    return out_lo[:n_out].copy(), out_hi[:n_out].copy(), out_close[:n_out].copy()
