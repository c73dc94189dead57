"""The stop scan: one left-to-right pass per run of fixes, the same stops as MovingPandas 0.23.

Decisions are those of ``TrajectoryStopDetector._process_traj`` (see ``features.stops_kernel``
for the geometry): the window of fixes is a stop candidate when the geodesic diagonal of its
lat/lon bounding box is under 1.5 × ``max_diameter`` and the diagonal of its minimum rotated
rectangle is under ``max_diameter``. What makes the pass cheap is that each step asks only what it
must, with bounds that never change a decision:

- a moving vehicle: a pair of fixes in the window already farther apart than the box limit (a
  *witness*, lower bounds of the metre per degree) proves every window that still holds both of
  them too wide, so no box is kept until the window's start passes the witness; the witness is
  searched back from the newest fix by galloping and bisection, so it comes out late and lasts;
- a sliding window the box cannot settle: monotone deques give its box in O(1) per fix;
- a stop (the window only grows): a running box; a fix inside the box of a stop that is one
  by its small box, or inside the hull that made it one, leaves it a stop with nothing computed;
- a small box: the rectangle's diagonal is at most √(w² + h² + w²h²/(w² + h²)) for a box w by h
  in degrees (``_surely_small``), times the largest metres per degree, so a box that small is a
  stop without any hull;
- otherwise the window's convex hull, kept between steps with the fix behind each vertex: a fix
  inside it changes nothing, and fixes leaving the window's start change nothing unless one was a
  vertex. Only then is the hull rebuilt from the window, from the fixes not certainly inside the
  quadrilateral of its four extreme fixes (``_hull_candidates``: about a tenth off the scan of
  replicated real GPS, the same stops).

All the bounds keep a relative margin (1e-9 for the lower ones, 1e-6 for the upper one) far above
the rounding of the exact computation, so the stops are the same fixes as the exact test finds.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from features.stops_kernel import (
    DEG,
    WGS84_A,
    WGS84_E2,
    _inside_or_on,
    _pop_front,
    _push_max,
    _push_min,
    _surely_wide,
    geodesic_m,
    hull_diagonal,
    hull_with_fixes,
)

M_MIN = WGS84_A * (1.0 - WGS84_E2)  # smallest meridian radius of curvature (equator), metres
K_MAX = DEG * WGS84_A / math.sqrt(1.0 - WGS84_E2)  # largest metres per degree, either axis


@njit(cache=True)
def _far(lat, lon, j, i, kx, ky, wide2):
    dy = (lat[j] - lat[i]) * ky
    dx = (lon[j] - lon[i]) * kx
    return dx * dx + dy * dy >= wide2


@njit(cache=True)
def _find_witness(lat, lon, lo, i, kx, ky, wide2):
    """A fix j in ``lo..i-1``, as late as cheaply found, at least ``sqrt(wide2)`` metres from fix ``i``
    (with ``kx, ky`` lower bounds of the metres per degree), or -1. Galloping back from ``i`` (1, 2,
    4, ... fixes, then ``lo``) and bisecting between the last near and the first far fix: a moving
    vehicle's witness comes out near the latest one, so it lasts while the window slides on."""
    near = i
    step = 1
    j = i - 1
    while not _far(lat, lon, j, i, kx, ky, wide2):
        near = j
        if j == lo:
            return -1
        step *= 2
        j = max(lo, i - step)
    while near - j > 1:
        m = (j + near) // 2
        if _far(lat, lon, m, i, kx, ky, wide2):
            j = m
        else:
            near = m
    return j


@njit(cache=True)
def _surely_small(w, h, small):
    """Whether the minimum-area rectangle of points whose bounding box is ``w`` by ``h`` (degrees) has
    a diagonal under ``small`` degrees, without the hull. Its sides L ≥ W are the points' extents
    across two directions, so at most their diameter D, and its area LW at most the box's, A = wh
    (the box is one enclosing rectangle). Then L² + W² ≤ D² + A²/D², which grows with D from √A on;
    and max(w, h) ≤ D ≤ √(w² + h²). So L² + W² ≤ w² + h² + w²h²/(w² + h²): a square box's
    rectangle is within 1.58 w (the box's own diagonal 1.41 w; the sum of its sides, 2 w)."""
    s2 = w * w + h * h
    if s2 == 0.0:
        return True
    return s2 + (w * w) * (h * h) / s2 < small * small


@njit(cache=True)
def _surely_inside(ax, ay, bx, by, px, py):
    """Whether p is strictly left of the line a→b, certainly: the cross product exceeds the bound on
    its rounding error (Shewchuk's for orient2d, (3 + 16ε)ε times the sum of the products'
    magnitudes, here rounded up to 1e-15), so in exact arithmetic too."""
    left = (bx - ax) * (py - ay)
    right = (by - ay) * (px - ax)
    return left - right > 1e-15 * (abs(left) + abs(right))


@njit(cache=True)
def _hull_candidates(lat, lon, lo, hi, left, bottom, right, top, tx, ty, tidx):
    """The fixes ``lo..hi`` that may be vertices of their convex hull, copied in fix order to ``tx,
    ty, tidx``; returns how many (Akl–Toussaint). A fix certainly inside the quadrilateral of the
    window's leftmost, lowest, rightmost and highest fixes is inside the hull, not on it, so the hull
    of the rest is the same polygon with the same fix at each vertex: repeats of a vertex's
    position lie on the hull and stay, in fix order. Where extremes coincide an edge has no length
    and nothing is dropped."""
    ax, ay = lon[left], lat[left]
    bx, by = lon[bottom], lat[bottom]
    cx, cy = lon[right], lat[right]
    dx, dy = lon[top], lat[top]
    m = 0
    for k in range(lo, hi + 1):
        x = lon[k]
        y = lat[k]
        if (_surely_inside(ax, ay, bx, by, x, y) and _surely_inside(bx, by, cx, cy, x, y)
                and _surely_inside(cx, cy, dx, dy, x, y) and _surely_inside(dx, dy, ax, ay, x, y)):
            continue
        tx[m] = x
        ty[m] = y
        tidx[m] = k
        m += 1
    return m


@njit(cache=True)
def _emit(out, n_out, lo, hi, close):
    if n_out == out.shape[0]:
        grown = np.empty((2 * out.shape[0], 3), dtype=np.int64)
        grown[:n_out] = out
        out = grown
    out[n_out, 0] = lo
    out[n_out, 1] = hi
    out[n_out, 2] = close
    return out


@njit(cache=True, nogil=True)  # nogil: features.stops_threads scans blocks of runs in threads
def scan_stops(lat, lon, ts, seg_start, seg_end, max_diameter, min_duration):
    """Stops in each run ``seg_start[k]..seg_end[k]-1`` of fixes sorted by time.

    ``ts`` and ``min_duration`` share one integer unit (nanoseconds). Returns three arrays per stop:
    first fix, last fix, and the fix that closed it (-1 when the run ended while stopped).
    """
    out = np.empty((256, 3), dtype=np.int64)
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
    hidx = np.empty(longest + 2, dtype=np.int64)
    tx = np.empty(longest + 2)
    ty = np.empty(longest + 2)
    tidx = np.empty(longest + 2, dtype=np.int64)
    order = np.empty(longest + 2, dtype=np.int64)
    cx = np.empty(2 * longest + 6)
    cy = np.empty(2 * longest + 6)
    ci = np.empty(2 * longest + 6, dtype=np.int64)
    prefilter = 1.5 * max_diameter
    wide2 = prefilter * prefilter * (1.0 + 1e-9)  # squared metres a witness pair must exceed
    tall_deg = prefilter * (1.0 + 1e-9) / (DEG * M_MIN)  # a box this tall (degrees) is too wide
    small_deg = max_diameter * (1.0 - 1e-6) / K_MAX  # a rectangle diagonal (degrees) under this: a stop
    for s in range(seg_start.size):
        a = seg_start[s]
        b = seg_end[s]
        if b <= a:
            continue
        top = 0.0  # metres per degree of longitude are at least DEG·a·cos(the run's largest |lat|)
        for i in range(a, b):
            top = max(top, abs(lat[i]))
        kx = DEG * WGS84_A * math.cos(top * DEG) if top < 90.0 else 0.0
        ky = DEG * M_MIN
        h_min_x = h_max_x = h_min_y = h_max_y = 0
        t_min_x = t_max_x = t_min_y = t_max_y = 0
        dq_live = False  # the deques hold every fix from (at most) lo to i - 1
        witness = -1  # a fix that, with a later one, proves any window holding both too wide
        bx0 = bx1 = by0 = by1 = a  # fixes at the window's box: min/max lon, min/max lat
        lo = a
        is_stopped = False
        previously_stopped = False
        hull_lo = -1  # the hull is that of fixes hull_lo..hull_hi; hull_first: its earliest vertex
        hull_hi = -1
        hull_first = -1
        hull_n = 0
        hull_diag = 0.0
        small_stop = False  # the stop so far is one because its box is small
        for i in range(a, b):
            if not is_stopped:
                while i - lo + 1 > 2 and ts[i] - ts[lo] >= min_duration:
                    lo += 1
            stopped_now = False
            n_win = i - lo + 1
            if n_win > 1:
                boxed = False
                if is_stopped and not (lon[i] < lon[bx0] or lon[i] > lon[bx1] or lat[i] < lat[by0] or lat[i] > lat[by1]):
                    # a stop grew by a fix inside its box: the same box, so a small box stays a stop;
                    # a fix inside the hull that made it a stop leaves hull and diagonal unchanged
                    if small_stop:
                        stopped_now = True
                    elif hull_hi == i - 1 and hull_lo == lo and _inside_or_on(hx, hy, hull_n, lon[i], lat[i]):
                        hull_hi = i
                        stopped_now = True
                if stopped_now:
                    boxed = True
                elif is_stopped:  # the window only grew: a running box
                    if lon[i] < lon[bx0]:
                        bx0 = i
                    if lon[i] > lon[bx1]:
                        bx1 = i
                    if lat[i] < lat[by0]:
                        by0 = i
                    if lat[i] > lat[by1]:
                        by1 = i
                    boxed = True
                elif witness < lo:
                    if not dq_live:
                        witness = _find_witness(lat, lon, lo, i, kx, ky, wide2)
                    if witness < lo:
                        if not dq_live:
                            h_min_x = h_max_x = h_min_y = h_max_y = 0
                            t_min_x = t_max_x = t_min_y = t_max_y = 0
                            for k in range(lo, i):
                                t_min_x = _push_min(dq_minx, h_min_x, t_min_x, lon, k)
                                t_max_x = _push_max(dq_maxx, h_max_x, t_max_x, lon, k)
                                t_min_y = _push_min(dq_miny, h_min_y, t_min_y, lat, k)
                                t_max_y = _push_max(dq_maxy, h_max_y, t_max_y, lat, k)
                        t_min_x = _push_min(dq_minx, h_min_x, t_min_x, lon, i)
                        t_max_x = _push_max(dq_maxx, h_max_x, t_max_x, lon, i)
                        t_min_y = _push_min(dq_miny, h_min_y, t_min_y, lat, i)
                        t_max_y = _push_max(dq_maxy, h_max_y, t_max_y, lat, i)
                        h_min_x = _pop_front(dq_minx, h_min_x, t_min_x, lo)
                        h_max_x = _pop_front(dq_maxx, h_max_x, t_max_x, lo)
                        h_min_y = _pop_front(dq_miny, h_min_y, t_min_y, lo)
                        h_max_y = _pop_front(dq_maxy, h_max_y, t_max_y, lo)
                        dq_live = True
                        bx0 = dq_minx[h_min_x]
                        bx1 = dq_maxx[h_max_x]
                        by0 = dq_miny[h_min_y]
                        by1 = dq_maxy[h_max_y]
                        boxed = True
                if not boxed:
                    dq_live = False  # fix i is not in the deques
                elif not stopped_now:
                    small_stop = False
                    minx = lon[bx0]
                    maxx = lon[bx1]
                    miny = lat[by0]
                    maxy = lat[by1]
                    if maxy - miny < tall_deg and geodesic_m(miny, minx, maxy, maxx) < prefilter:
                        if n_win == 2:
                            stopped_now = geodesic_m(lat[lo], lon[lo], lat[i], lon[i]) < max_diameter
                        elif _surely_small(maxx - minx, maxy - miny, small_deg):
                            stopped_now = True
                            small_stop = True
                        elif not _surely_wide(lat, lon, lo, i, bx0, bx1, by0, by1, max_diameter, prefilter):
                            if hull_lo >= 0 and hull_hi == i - 1 and hull_lo <= lo and hull_first >= lo:
                                # the fixes that left the window were not vertices: the same hull
                                if not _inside_or_on(hx, hy, hull_n, lon[i], lat[i]):
                                    for k in range(hull_n):
                                        tx[k] = hx[k]
                                        ty[k] = hy[k]
                                        tidx[k] = hidx[k]
                                    tx[hull_n] = lon[i]
                                    ty[hull_n] = lat[i]
                                    tidx[hull_n] = i
                                    hull_n = hull_with_fixes(tx, ty, tidx, hull_n + 1, hx, hy, hidx, order, cx, cy, ci)
                                    hull_diag = hull_diagonal(hx, hy, hull_n)
                            else:
                                m = _hull_candidates(lat, lon, lo, i, bx0, by0, bx1, by1, tx, ty, tidx)
                                hull_n = hull_with_fixes(tx, ty, tidx, m, hx, hy, hidx, order, cx, cy, ci)
                                hull_diag = hull_diagonal(hx, hy, hull_n)
                            hull_lo = lo
                            hull_hi = i
                            hull_first = hidx[0]
                            for k in range(1, hull_n):
                                hull_first = min(hull_first, hidx[k])
                            stopped_now = hull_diag < max_diameter
                    elif dq_live and not is_stopped:
                        # too wide: look for a witness so the next windows need no box
                        witness = _find_witness(lat, lon, lo, i, kx, ky, wide2)
                        if witness >= lo:
                            dq_live = False
            else:
                dq_live = False
            if stopped_now:
                dq_live = False  # a stop keeps a running box
                witness = -1
            if not stopped_now and previously_stopped and n_win > 1:
                if ts[i - 1] - ts[lo] >= min_duration:
                    out = _emit(out, n_out, lo, i - 1, i)
                    n_out += 1
                    lo = i
                    dq_live = False
            previously_stopped = stopped_now
            is_stopped = stopped_now
        if is_stopped and ts[b - 1] - ts[lo] >= min_duration:
            out = _emit(out, n_out, lo, b - 1, -1)
            n_out += 1
    return out[:n_out, 0].copy(), out[:n_out, 1].copy(), out[:n_out, 2].copy()
