"""Compiled geometry behind ``detect_stops`` (the scan itself is ``features.stops_scan``).

The scan reproduces MovingPandas 0.23 ``TrajectoryStopDetector._process_traj`` step by step:

- while not stopped, the window is trimmed from the front while it has more than two fixes and
  spans at least ``min_duration``; while stopped it only grows;
- the window is a stop candidate when the geodesic diagonal of its bounding box (lat/lon
  min-max corners) is under 1.5 × ``max_diameter`` and the diagonal of its minimum rotated
  rectangle is under ``max_diameter``;
- a stop ends at the first fix that breaks it, if it lasted ``min_duration``: it covers the fixes
  before that one and the window restarts at that fix; a run that ends while stopped closes it.

The minimum rotated rectangle is computed the way GEOS 3.12+ does (``MinimumAreaRectangle``: the
minimum-area rectangle of the convex hull in *degree* coordinates, found with rotating calipers
over the clockwise hull ring that starts at the lowest point) and its diagonal is measured between
the rectangle's first and third corners, geodesically, as MovingPandas's ``mrr_diagonal`` does.
Geodesic lengths use the local ellipsoidal (WGS84) approximation, within micrometres of geopy's
geodesic at the hundreds of metres that matter here.

``features.stops_scan`` keeps a window's hull between steps (a fix inside it changes nothing; one
outside it rebuilds the hull from the old hull and the new fix) and skips it whenever a bound
decides; ``convex_hull``/``window_diagonal`` here compute a window from scratch.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

WGS84_A = 6378137.0
WGS84_F = 1.0 / 298.257223563
WGS84_E2 = WGS84_F * (2.0 - WGS84_F)
DEG = math.pi / 180.0


@njit(cache=True)
def geodesic_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Distance in metres on the WGS84 ellipsoid, in the local (mid-latitude) metric: exact to
    well under a millimetre up to a few kilometres."""
    phim = 0.5 * (lat1 + lat2) * DEG
    s = math.sin(phim)
    w2 = 1.0 - WGS84_E2 * s * s
    w = math.sqrt(w2)
    m_rad = WGS84_A * (1.0 - WGS84_E2) / (w2 * w)
    n_rad = WGS84_A / w
    dy = (lat2 - lat1) * DEG * m_rad
    dx = (lon2 - lon1) * DEG * n_rad * math.cos(phim)
    return math.sqrt(dx * dx + dy * dy)


@njit(cache=True)
def haversine_scalar(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (the same sphere as ``features.geo.haversine_m``)."""
    p1 = lat1 * DEG
    p2 = lat2 * DEG
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin((lon2 - lon1) * DEG / 2) ** 2
    return 2.0 * 6_371_008.8 * math.asin(math.sqrt(min(max(a, 0.0), 1.0)))


@njit(cache=True)
def _cross(ox, oy, ax, ay, bx, by):
    return (ax - ox) * (by - oy) - (ay - oy) * (bx - ox)


@njit(cache=True)
def _orientation(ax, ay, bx, by, px, py):
    """GEOS ``Orientation::index(a, b, p)``: +1 left (counter-clockwise), -1 right, 0 collinear."""
    det = (bx - ax) * (py - by) - (by - ay) * (px - bx)
    if det > 0.0:
        return 1
    if det < 0.0:
        return -1
    return 0


@njit(cache=True)
def hull_with_fixes(px, py, pi, n, hx, hy, hi, order, cx, cy, ci):
    """``convex_hull`` of the first ``n`` points, also writing to ``hi`` the fix index ``pi`` of each
    vertex (the first in (x, y) order among repeats): the stop scan keeps its hull while the window
    slides and must know which fixes are corners. ``order``, ``cx, cy, ci`` (sizes ≥ n and ≥ 2n + 2)
    are scratch. Returns the number of vertices."""
    for i in range(n):
        order[i] = i
    if n <= 48:
        for i in range(1, n):
            k = order[i]
            j = i - 1
            while j >= 0 and (px[order[j]] > px[k] or (px[order[j]] == px[k] and py[order[j]] > py[k])):
                order[j + 1] = order[j]
                j -= 1
            order[j + 1] = k
    else:
        by_y = np.argsort(py[:n], kind="mergesort")
        by_x = np.argsort(px[:n][by_y], kind="mergesort")
        for i in range(n):
            order[i] = by_y[by_x[i]]
    m = 1
    for i in range(1, n):
        a = order[m - 1]
        b = order[i]
        if px[a] != px[b] or py[a] != py[b]:
            order[m] = b
            m += 1
    if m <= 2:
        for i in range(m):
            hx[i] = px[order[i]]
            hy[i] = py[order[i]]
            hi[i] = pi[order[i]]
        return m
    k = 0
    for i in range(m):
        o = order[i]
        x = px[o]
        y = py[o]
        while k >= 2 and _cross(cx[k - 2], cy[k - 2], cx[k - 1], cy[k - 1], x, y) <= 0.0:
            k -= 1
        cx[k] = x
        cy[k] = y
        ci[k] = pi[o]
        k += 1
    t = k + 1
    for i in range(m - 2, -1, -1):
        o = order[i]
        x = px[o]
        y = py[o]
        while k >= t and _cross(cx[k - 2], cy[k - 2], cx[k - 1], cy[k - 1], x, y) <= 0.0:
            k -= 1
        cx[k] = x
        cy[k] = y
        ci[k] = pi[o]
        k += 1
    h = k - 1
    if h <= 2:
        for j in range(2):
            hx[j] = cx[j]
            hy[j] = cy[j]
            hi[j] = ci[j]
        return 2
    start = 0
    for i in range(1, h):
        if cy[i] < cy[start] or (cy[i] == cy[start] and cx[i] < cx[start]):
            start = i
    for j in range(h):
        idx = (start - j) % h
        hx[j] = cx[idx]
        hy[j] = cy[idx]
        hi[j] = ci[idx]
    return h


@njit(cache=True)
def convex_hull(px, py, n, hx, hy, order):
    """Convex hull of the first ``n`` points, written to ``hx, hy`` as GEOS orders it: clockwise,
    starting at the lowest (then leftmost) vertex, no repeated or collinear vertices, not closed.
    Returns the number of vertices (1: a point, 2: a segment). ``order`` (size ≥ n) is scratch."""
    cx = np.empty(2 * n + 2)
    cy = np.empty(2 * n + 2)
    ci = np.empty(2 * n + 2, dtype=np.int64)
    return hull_with_fixes(px, py, np.arange(n), n, hx, hy, np.empty(max(n, 2), dtype=np.int64), order, cx, cy, ci)


@njit(cache=True)
def _dist_perp(ax, ay, bx, by, px, py):
    """GEOS ``LineSegment(a, b).distancePerpendicular(p)``."""
    if ax == bx and ay == by:
        return math.sqrt((px - ax) * (px - ax) + (py - ay) * (py - ay))
    len2 = (bx - ax) * (bx - ax) + (by - ay) * (by - ay)
    s = ((ay - py) * (bx - ax) - (ax - px) * (by - ay)) / len2
    return abs(s) * math.sqrt(len2)


@njit(cache=True)
def _oriented_distance(ax, ay, bx, by, px, py, orient):
    if ax == bx and ay == by:
        d = math.sqrt((px - ax) * (px - ax) + (py - ay) * (py - ay))
    else:
        d = _dist_perp(ax, ay, bx, by, px, py)
        if _orientation(ax, ay, bx, by, px, py) < 0:
            d = -d
    if orient == 0:
        return abs(d)
    return d


@njit(cache=True)
def _further_or_equal(d1, d2, orient):
    if orient == 0:
        return abs(d1) >= abs(d2)
    if orient == 1:
        return d1 >= d2
    return d1 <= d2


@njit(cache=True)
def _furthest_vertex(hx, hy, h, ax, ay, bx, by, start, orient):
    """GEOS ``MinimumAreaRectangle::findFurthestVertex`` over the ring of ``h`` vertices."""
    max_d = _oriented_distance(ax, ay, bx, by, hx[start], hy[start], orient)
    next_d = max_d
    max_i = start
    next_i = max_i
    while _further_or_equal(next_d, max_d, orient):
        max_d = next_d
        max_i = next_i
        next_i = max_i + 1
        if next_i >= h:
            next_i = 0
        if next_i == start:
            break
        next_d = _oriented_distance(ax, ay, bx, by, hx[next_i], hy[next_i], orient)
    return max_i


@njit(cache=True)
def _intersect(a1, b1, c1, a2, b2, c2):
    """Intersection of the lines a1·x + b1·y = c1 and a2·x + b2·y = c2."""
    det = a1 * b2 - a2 * b1
    return (c1 * b2 - c2 * b1) / det, (a1 * c2 - a2 * c1) / det


@njit(cache=True)
def mrr_diagonal_ring(hx, hy, h):
    """Geodesic length (m) of the diagonal (corner 0 to corner 2) of GEOS's minimum-area rectangle
    around the clockwise hull ring ``hx, hy`` (x = lon, y = lat degrees) of ``h`` ≥ 3 vertices."""
    ring_n = h + 1  # GEOS works on the closed ring
    min_area = np.inf
    best_base = 0
    best_diam = 0
    best_left = 0
    best_right = 0
    diam_i = 1
    left_i = 1
    right_i = 0
    for i in range(ring_n - 1):
        j = i + 1 if i + 1 < h else 0
        b0x, b0y, b1x, b1y = hx[i], hy[i], hx[j], hy[j]
        diam_i = _furthest_vertex(hx, hy, h, b0x, b0y, b1x, b1y, diam_i, 0)
        dpx, dpy = hx[diam_i], hy[diam_i]
        # project the diameter point on the base line
        if (dpx == b0x and dpy == b0y) or (dpx == b1x and dpy == b1y):
            qx, qy = dpx, dpy
        else:
            ddx = b1x - b0x
            ddy = b1y - b0y
            r = ((dpx - b0x) * ddx + (dpy - b0y) * ddy) / (ddx * ddx + ddy * ddy)
            qx = b0x + r * (b1x - b0x)
            qy = b0y + r * (b1y - b0y)
        left_i = _furthest_vertex(hx, hy, h, qx, qy, dpx, dpy, left_i, 1)
        if i == 0:
            right_i = diam_i
        right_i = _furthest_vertex(hx, hy, h, qx, qy, dpx, dpy, right_i, -1)
        width = _dist_perp(qx, qy, dpx, dpy, hx[left_i], hy[left_i]) + _dist_perp(qx, qy, dpx, dpy, hx[right_i], hy[right_i])
        area = math.sqrt((dpx - qx) * (dpx - qx) + (dpy - qy) * (dpy - qy)) * width
        if area < min_area:
            min_area = area
            best_base = i
            best_diam = diam_i
            best_left = left_i
            best_right = right_i
    # GEOS Rectangle::createFromSidePts; corners computed relative to the base point for precision
    i = best_base
    j = i + 1 if i + 1 < h else 0
    ox, oy = hx[i], hy[i]
    dx = hx[j] - ox
    dy = hy[j] - oy
    opx, opy = hx[best_diam] - ox, hy[best_diam] - oy
    lx, ly = hx[best_left] - ox, hy[best_left] - oy
    rx, ry = hx[best_right] - ox, hy[best_right] - oy
    base_c = 0.0
    opp_c = dx * opy - dy * opx
    left_c = -dy * ly - dx * lx
    right_c = -dy * ry - dx * rx
    # base/opposite lines: -dy·x + dx·y = c; left/right lines: -dx·x - dy·y = c
    if best_right == i:
        p0x, p0y = 0.0, 0.0
    else:
        p0x, p0y = _intersect(-dy, dx, base_c, -dx, -dy, right_c)
    if best_left == best_diam:
        p2x, p2y = opx, opy
    else:
        p2x, p2y = _intersect(-dy, dx, opp_c, -dx, -dy, left_c)
    return geodesic_m(oy + p0y, ox + p0x, oy + p2y, ox + p2x)


@njit(cache=True)
def hull_diagonal(hx, hy, h):
    """MovingPandas ``mrr_diagonal`` (geodesic, metres) of points whose hull is ``hx, hy``."""
    if h <= 1:
        return 0.0
    if h == 2:
        return geodesic_m(hy[0], hx[0], hy[1], hx[1])
    return mrr_diagonal_ring(hx, hy, h)


@njit(cache=True)
def _inside_or_on(hx, hy, h, x, y):
    """Whether (x, y) lies in or on the clockwise hull (so adding it leaves the hull unchanged)."""
    if h == 1:
        return x == hx[0] and y == hy[0]
    if h == 2:
        if _cross(hx[0], hy[0], hx[1], hy[1], x, y) != 0.0:
            return False
        return (min(hx[0], hx[1]) <= x <= max(hx[0], hx[1])) and (min(hy[0], hy[1]) <= y <= max(hy[0], hy[1]))
    for k in range(h):
        j = k + 1 if k + 1 < h else 0
        if _cross(hx[k], hy[k], hx[j], hy[j], x, y) > 0.0:
            return False
    return True


@njit(cache=True)
def window_diagonal(lon, lat, lo, hi):
    """``mrr_diagonal`` of fixes ``lo..hi`` inclusive, from scratch (used by tests)."""
    n = hi - lo + 1
    if n == 2:
        return geodesic_m(lat[lo], lon[lo], lat[hi], lon[hi])
    hx = np.empty(n + 1)
    hy = np.empty(n + 1)
    order = np.empty(n + 1, dtype=np.int64)
    h = convex_hull(lon[lo:hi + 1], lat[lo:hi + 1], n, hx, hy, order)
    return hull_diagonal(hx, hy, h)


@njit(cache=True)
def _surely_wide(lat, lon, lo, hi, a, b, c, d, max_diameter, prefilter):
    """Whether the window's rectangle diagonal is certainly at least ``max_diameter``, without the
    hull: a rectangle holding two points is at least as long (in degrees) as the distance between
    them, and a degree is at least ``k_min`` metres on the rectangle (the smaller of the
    meridian and parallel scales over the window's latitudes, widened by 3 × the prefilter)."""
    idx = (lo, hi, a, b, c, d)
    far = 0.0
    for p in range(6):
        for q in range(p + 1, 6):
            dy = lat[idx[p]] - lat[idx[q]]
            dx = lon[idx[p]] - lon[idx[q]]
            far = max(far, dx * dx + dy * dy)
    margin = 3.0 * prefilter / 110_000.0
    phi = (max(abs(lat[c]), abs(lat[d])) + margin) * DEG
    if phi >= 1.5:
        return False
    s = math.sin(phi)
    n_rad = WGS84_A / math.sqrt(1.0 - WGS84_E2 * s * s)
    k_min = min(n_rad * math.cos(phi), WGS84_A * (1.0 - WGS84_E2)) * DEG
    return k_min * k_min * far > max_diameter * max_diameter * (1.0 + 1e-9)


@njit(cache=True)
def _push_min(dq, head, tail, vals, i):
    while tail > head and vals[dq[tail - 1]] >= vals[i]:
        tail -= 1
    dq[tail] = i
    return tail + 1


@njit(cache=True)
def _push_max(dq, head, tail, vals, i):
    while tail > head and vals[dq[tail - 1]] <= vals[i]:
        tail -= 1
    dq[tail] = i
    return tail + 1


@njit(cache=True)
def _pop_front(dq, head, tail, lo):
    while head < tail and dq[head] < lo:
        head += 1
    return head


@njit(cache=True)
def _grow(arr, cap):
    out = np.empty(cap, dtype=arr.dtype)
    out[: arr.size] = arr
    return out


@njit(cache=True, nogil=True)
def stop_medians(lat, lon, lo, hi):
    """Median latitude and longitude of fixes ``lo[k]..hi[k]`` (inclusive) for each stop."""
    n = lo.size
    mlat = np.empty(n)
    mlon = np.empty(n)
    for k in range(n):
        mlat[k] = np.median(lat[lo[k]:hi[k] + 1])
        mlon[k] = np.median(lon[lo[k]:hi[k] + 1])
    return mlat, mlon
