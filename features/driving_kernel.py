"""Compiled passes behind ``features.driving``: one left-to-right scan each, no Python per fix.

Inputs are the stop detector's arrays (``FixArrays``: sorted by vehicle, then time; int64 ns local
time). Spells and stints implement the fatigue rule of 《中华人民共和国道路交通安全法实施条例》
第六十二条第七项 (see ``features.driving.DrivingParams``): driving time accumulates across pauses
shorter than the rest minimum, and a pause of at least the rest minimum ends it.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from features.stops_kernel import haversine_scalar

DAY_NS = 86_400 * 1_000_000_000


@njit(cache=True)
def flag_runs(flag, vehicle, key, ts, max_gap_ns):
    """Runs of consecutive flagged fixes of one vehicle with the same ``key`` (a zone, or 0), no two
    neighbours more than ``max_gap_ns`` apart. Returns first and last fix (inclusive) of each run."""
    n = flag.size
    lo = np.empty(n, dtype=np.int64)
    hi = np.empty(n, dtype=np.int64)
    k = 0
    i = 0
    while i < n:
        if not flag[i]:
            i += 1
            continue
        j = i
        while (j + 1 < n and flag[j + 1] and vehicle[j + 1] == vehicle[i] and key[j + 1] == key[i]
               and ts[j + 1] - ts[j] <= max_gap_ns):
            j += 1
        lo[k] = i
        hi[k] = j
        k += 1
        i = j + 1
    return lo[:k].copy(), hi[:k].copy()


@njit(cache=True)
def drive_spells(vehicle, entity, ts, step_m, driving, rest_ns):
    """Spells of driving: driving intervals (fix i-1 → fix i, ``driving[i]``) of one vehicle and one
    entity (driver, or the vehicle itself) joined across pauses shorter than ``rest_ns``, cut at
    local midnight so that a spell lies in one day. The entity of an interval is that of its first
    fix. Returns per spell: first fix, last fix, start and end (ns), driving time (ns), and the
    distance driven (m)."""
    n = ts.size
    first = np.empty(n, dtype=np.int64)
    last = np.empty(n, dtype=np.int64)
    start = np.empty(n, dtype=np.int64)
    end = np.empty(n, dtype=np.int64)
    drive = np.empty(n, dtype=np.int64)
    dist = np.empty(n)
    k = -1
    open_ = False
    for i in range(1, n):
        if vehicle[i] != vehicle[i - 1] or not driving[i]:
            continue
        a, b = ts[i - 1], ts[i]
        ent = entity[i - 1]
        if open_ and (vehicle[last[k]] != vehicle[i] or entity[first[k]] != ent or a - end[k] >= rest_ns
                      or a // DAY_NS != (end[k] - 1) // DAY_NS):
            open_ = False
        if not open_:
            k += 1
            first[k], last[k], start[k], end[k], drive[k], dist[k] = i - 1, i - 1, a, a, 0, 0.0
            open_ = True
        midnight = (a // DAY_NS + 1) * DAY_NS
        if b > midnight:  # the interval crosses midnight: its first part closes this spell
            drive[k] += midnight - a
            dist[k] += step_m[i] * (midnight - a) / (b - a)
            end[k] = midnight
            k += 1
            first[k], start[k], drive[k], dist[k] = i - 1, midnight, 0, 0.0
            a = midnight
        drive[k] += b - a
        dist[k] += step_m[i] * (b - a) / (ts[i] - ts[i - 1])
        end[k] = b
        last[k] = i
    k += 1
    return first[:k].copy(), last[:k].copy(), start[:k].copy(), end[:k].copy(), drive[:k].copy(), dist[:k].copy()


@njit(cache=True)
def continuous_stints(entity, start, end, drive, rest_ns, limit_ns):
    """Spells sorted by (entity, start) joined into stints of continuous driving (pauses shorter than
    ``rest_ns``); returns the stints whose driving time exceeds ``limit_ns``: first spell, last spell,
    the spell during which the limit was passed, and the driving time (ns)."""
    n = start.size
    s_first = np.empty(n, dtype=np.int64)
    s_last = np.empty(n, dtype=np.int64)
    s_over = np.empty(n, dtype=np.int64)
    s_drive = np.empty(n, dtype=np.int64)
    k = 0
    i = 0
    while i < n:
        total = drive[i]
        over = i if total > limit_ns else -1
        last_end = end[i]
        j = i
        while j + 1 < n and entity[j + 1] == entity[i] and start[j + 1] - last_end < rest_ns:
            j += 1
            total += drive[j]
            last_end = max(last_end, end[j])
            if over < 0 and total > limit_ns:
                over = j
        if over >= 0:
            s_first[k], s_last[k], s_over[k], s_drive[k] = i, j, over, total
            k += 1
        i = j + 1
    return s_first[:k].copy(), s_last[:k].copy(), s_over[:k].copy(), s_drive[:k].copy()


@njit(cache=True)
def run_argmax(values, lo, hi):
    """Index of the largest value in each run ``lo[k]..hi[k]`` (inclusive; the first on ties)."""
    out = np.empty(lo.size, dtype=np.int64)
    for k in range(lo.size):
        best = lo[k]
        for i in range(lo[k] + 1, hi[k] + 1):
            if values[i] > values[best]:
                best = i
        out[k] = best
    return out


@njit(cache=True)
def manifest_gaps(ts, lat, lon, starts, ends, code, t0, t1, received, rlat, rlon, reach_m, gap_ns):
    """Silences longer than ``gap_ns`` while each manifest's load is on the road, from ``t0`` (the
    departure) to the first fix within ``reach_m`` of the receiver, else to ``t1``: from departure to
    the first fix, between fixes, and from the last fix to a known receipt (``received``) or, with
    no fix at all, to t1. Returns per silence: manifest, start, end (ns) and the fixes before and
    after it (-1 at the departure or the receipt end)."""
    n_out = 0
    m_idx = np.empty(0, dtype=np.int64)
    g0 = np.empty(0, dtype=np.int64)
    g1 = np.empty(0, dtype=np.int64)
    f0 = np.empty(0, dtype=np.int64)
    f1 = np.empty(0, dtype=np.int64)
    for pass_ in range(2):
        if pass_ == 1:
            m_idx = np.empty(n_out, dtype=np.int64)
            g0 = np.empty(n_out, dtype=np.int64)
            g1 = np.empty(n_out, dtype=np.int64)
            f0 = np.empty(n_out, dtype=np.int64)
            f1 = np.empty(n_out, dtype=np.int64)
            n_out = 0
        for k in range(t0.size):
            v = code[k]
            lo = 0
            hi = 0
            if v >= 0:
                a, b = starts[v], ends[v]
                lo = a + np.searchsorted(ts[a:b], t0[k])
                hi = a + np.searchsorted(ts[a:b], t1[k])
            prev_t = t0[k]
            prev_i = -1
            for j in range(lo, hi + 1):
                arrived = False
                if j < hi:
                    cur_t, cur_i = ts[j], j
                    arrived = haversine_scalar(lat[j], lon[j], rlat[k], rlon[k]) <= reach_m
                elif received[k] or hi == lo:
                    cur_t, cur_i = t1[k], -1
                else:
                    break
                if cur_t - prev_t > gap_ns:
                    if pass_ == 1:
                        m_idx[n_out], g0[n_out], g1[n_out], f0[n_out], f1[n_out] = k, prev_t, cur_t, prev_i, cur_i
                    n_out += 1
                if arrived:
                    break
                prev_t, prev_i = cur_t, cur_i
    return m_idx, g0, g1, f0, f1


@njit(cache=True)
def _cell(x, y, size):
    return (np.int64(np.floor(x / size)) << 32) + np.int64(np.floor(y / size)) + (1 << 31)


@njit(cache=True)
def segment_cells(x0, y0, x1, y1, reach, size):
    """Grid cells (keys) within ``reach`` of each segment's bounding box, and the segment of each
    entry: the cells a point must fall in to be within ``reach`` of the segment."""
    n = x0.size
    total = 0
    for k in range(n):
        nx = int(np.floor((max(x0[k], x1[k]) + reach) / size)) - int(np.floor((min(x0[k], x1[k]) - reach) / size)) + 1
        ny = int(np.floor((max(y0[k], y1[k]) + reach) / size)) - int(np.floor((min(y0[k], y1[k]) - reach) / size)) + 1
        total += nx * ny
    keys = np.empty(total, dtype=np.int64)
    seg = np.empty(total, dtype=np.int64)
    j = 0
    for k in range(n):
        ax = int(np.floor((min(x0[k], x1[k]) - reach) / size))
        bx = int(np.floor((max(x0[k], x1[k]) + reach) / size))
        ay = int(np.floor((min(y0[k], y1[k]) - reach) / size))
        by = int(np.floor((max(y0[k], y1[k]) + reach) / size))
        for cx in range(ax, bx + 1):
            for cy in range(ay, by + 1):
                keys[j] = (np.int64(cx) << 32) + np.int64(cy) + (1 << 31)
                seg[j] = k
                j += 1
    return keys, seg


@njit(cache=True)
def nearest_segment(px, py, keys, starts, seg, x0, y0, x1, y1, reach, size):
    """For each point, the segment nearest to it within ``reach`` (-1 if none) and the distance:
    ``keys`` sorted distinct cells, ``starts`` their first entry in ``seg`` (CSR, one past the end last)."""
    n = px.size
    best = np.full(n, -1, dtype=np.int64)
    dist = np.full(n, np.inf)
    for i in range(n):
        key = _cell(px[i], py[i], size)
        c = np.searchsorted(keys, key)
        if c >= keys.size or keys[c] != key:
            continue
        for e in range(starts[c], starts[c + 1]):
            k = seg[e]
            dx, dy = x1[k] - x0[k], y1[k] - y0[k]
            len2 = dx * dx + dy * dy
            t = 0.0 if len2 == 0.0 else min(1.0, max(0.0, ((px[i] - x0[k]) * dx + (py[i] - y0[k]) * dy) / len2))
            ex, ey = x0[k] + t * dx - px[i], y0[k] + t * dy - py[i]
            d = np.sqrt(ex * ex + ey * ey)
            if d <= reach and (d < dist[i] or (d == dist[i] and k < best[i])):
                dist[i] = d
                best[i] = k
    return best, dist


@njit(cache=True)
def steps(vehicle, ts, lat, lon):
    """Distance (m, great circle) and time (ns) from each fix's previous fix of the same vehicle;
    NaN and 0 at a vehicle's first fix."""
    n = ts.size
    step = np.full(n, np.nan)
    dt = np.zeros(n, dtype=np.int64)
    for i in range(1, n):
        if vehicle[i] == vehicle[i - 1]:
            step[i] = haversine_scalar(lat[i - 1], lon[i - 1], lat[i], lon[i])
            dt[i] = ts[i] - ts[i - 1]
    return step, dt
