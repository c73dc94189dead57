"""Stops and manifest trips classified at an as-of date: where, when, loaded or not, and how the
GPS behaved while a load was on the road.

``classify_stops`` labels each stop known at as_of; ``trip_table`` gives one row per manifest
known at as_of with its GPS evidence. Both use only rows dated before ``cutoff(as_of)``: a
receipt confirmed later is not known yet, so such a trip counts as still open (loaded until
``departed_at + MAX_TRIP_H``). Times are local (Asia/Shanghai, zone-free); distances metres.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from numba import njit
from scipy.spatial import cKDTree

from features.geo import LocalProjection, PlaceIndex, haversine_m
from features.incremental import TripGpsMemo
from features.stops_asof import restored_fixes
from features.stops_kernel import geodesic_m
from features.timeutil import cutoff, known
from features.trajectories import StopIndex

SITE_RADIUS_M = 300.0  # a stop this close to an enterprise's registered location is at that site
NIGHT_START_H, NIGHT_END_H = 22, 6  # local time
MAX_TRIP_H = 48.0  # a trip never confirmed counts as loaded this long after departure
GPS_GAP_S = 600.0  # a silence longer than this under a manifest is a gap
OFFBOOK_WINDOW_H = 6.0  # a producer visit with no manifest for that vehicle this close in time is off-book
NEAR_WATER_M = 300.0
NEAR_KARST_M = 300.0
NEAR_PROTECTED_M = 100.0
MIN_ROUTE_TRIPS = 3  # earlier trips on a route needed before its usual duration means anything
MIN_DIRECT_KM = 1.0  # shorter routes have no meaningful detour ratio
RECEIVER_MISS_M = 1000.0  # a received trip whose fixes never came this close to the receiver


def _roles(enterprises: pd.DataFrame) -> pd.Series:
    return enterprises["roles"].astype("str").fillna("")


def registered_sites(enterprises: pd.DataFrame, as_of) -> pd.DataFrame:
    """Enterprises whose registered location is a site at as_of (not yet opened ones excluded)."""
    e = enterprises
    if "opened" in e:
        e = e[~(e["opened"] >= cutoff(as_of))]
    return e[e["lat"].notna() & e["lon"].notna()].reset_index(drop=True)


def nearest_site(lat: np.ndarray, lon: np.ndarray, sites: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Index into ``sites`` of the nearest site and its distance (m); -1 / inf when there is none."""
    n = len(lat)
    if n == 0 or sites.empty:
        return np.full(n, -1), np.full(n, np.inf)
    proj = LocalProjection.around(sites["lat"].to_numpy(), sites["lon"].to_numpy())
    tree = cKDTree(np.column_stack(proj.xy(sites["lat"].to_numpy(), sites["lon"].to_numpy())))
    _, idx = tree.query(np.column_stack(proj.xy(lat, lon)), k=1)
    idx = np.asarray(idx, dtype=np.int64)
    dist = haversine_m(lat, lon, sites["lat"].to_numpy()[idx], sites["lon"].to_numpy()[idx])
    return idx, dist


def open_trips(manifests: pd.DataFrame, as_of) -> pd.DataFrame:
    """Manifests known at as_of with the span during which their load is on the road:
    ``trip_end`` is ``received_at`` if confirmed by as_of, else ``departed_at + MAX_TRIP_H``.
    A receipt dated after as_of is not known yet: ``received_at`` and ``received_t`` are blanked."""
    end = cutoff(as_of)
    m = known(manifests, "departed_at", as_of).copy()
    later = m["received_at"].notna() & (m["received_at"] >= end)
    received = m["received_at"].where(~later)
    m["received_at"] = received
    m["received_t"] = m["received_t"].where(~later)
    m["received_known"] = received
    m["trip_end"] = received.fillna(m["departed_at"] + pd.Timedelta(hours=MAX_TRIP_H))
    return m.reset_index(drop=True)


def classify_stops(stops: pd.DataFrame, enterprises: pd.DataFrame, vehicles: pd.DataFrame,
                   manifests: pd.DataFrame, places: PlaceIndex | None, as_of) -> pd.DataFrame:
    """Stops (from ``stops_as_of``) with what an investigator asks of each: at which registered
    site (``at_enterprise_id``: the nearest enterprise within SITE_RADIUS_M, and its roles) or
    elsewhere; night (the stop's
    midpoint between 22:00 and 06:00); loaded (inside a manifest trip of the vehicle, its ids);
    distances to water, karst and protected areas; off-book producer visits."""
    s = stops.reset_index(drop=True).copy()
    s["vehicle_id"] = s["vehicle_id"].astype("str")
    s["duration_min"] = (s["end"] - s["start"]).dt.total_seconds() / 60.0
    hour = (s["start"] + (s["end"] - s["start"]) / 2).dt.hour
    s["night"] = ((hour >= NIGHT_START_H) | (hour < NIGHT_END_H)).to_numpy(bool)
    sites = registered_sites(enterprises, as_of)
    idx, dist = nearest_site(s["lat"].to_numpy(float), s["lon"].to_numpy(float), sites)
    at = dist <= SITE_RADIUS_M
    ids = sites["enterprise_id"].to_numpy(object)
    roles = _roles(sites).to_numpy(object)
    s["at_enterprise_id"] = np.where(at, ids[np.maximum(idx, 0)] if len(ids) else None, None)
    s["at_roles"] = np.where(at, roles[np.maximum(idx, 0)] if len(roles) else "", "")
    s["at_dist_m"] = dist
    s["registered"] = at
    v = vehicles.assign(vehicle_id=vehicles["vehicle_id"].astype("str")).set_index("vehicle_id")
    s["owner_id"] = s["vehicle_id"].map(v["transporter_id"]).astype("object")
    s["hazmat_permit"] = s["vehicle_id"].map(v["hazmat_permit"]).astype("boolean")
    _attach_manifests(s, open_trips(manifests, as_of))
    _attach_places(s, places)
    at_producer = s["at_roles"].astype("str").str.contains("producer", regex=False).to_numpy(bool)
    s["at_producer"] = at_producer & (s["at_enterprise_id"] != s["owner_id"]).to_numpy(bool)
    s["offbook"] = s["at_producer"] & ~_manifest_near(s, known(manifests, "departed_at", as_of))
    s["unpermitted_visit"] = s["at_producer"] & (s["hazmat_permit"] == False).fillna(False).to_numpy(bool)  # noqa: E712
    return s


def _attach_manifests(s: pd.DataFrame, trips: pd.DataFrame) -> None:
    cols = ["manifest_id", "producer_id", "transporter_id", "receiver_id"]
    s["manifest_id"] = None
    for c in cols[1:]:
        s[f"m_{c}"] = None
    s["loaded"] = False
    if s.empty or trips.empty:
        return
    left = s[["vehicle_id", "start", "end"]].reset_index().sort_values("start")
    right = trips.assign(vehicle_id=trips["vehicle_id"].astype("str"))[cols + ["vehicle_id", "departed_at", "trip_end"]]
    right = right.sort_values("departed_at")
    left["start"] = left["start"].astype("datetime64[ns]")
    right["departed_at"] = right["departed_at"].astype("datetime64[ns]")
    m = pd.merge_asof(left, right, left_on="start", right_on="departed_at", by="vehicle_id", direction="backward")
    ok = m["manifest_id"].notna() & (m["end"] <= m["trip_end"])
    m = m[ok].set_index("index")
    s.loc[m.index, "manifest_id"] = m["manifest_id"]
    for c in cols[1:]:
        s.loc[m.index, f"m_{c}"] = m[c]
    s.loc[m.index, "loaded"] = True


def _attach_places(s: pd.DataFrame, places: PlaceIndex | None) -> None:
    lat, lon = s["lat"].to_numpy(float), s["lon"].to_numpy(float)
    if places is None or s.empty:
        for c in ("water_m", "karst_m", "protected_m"):
            s[c] = np.inf
        s["water_name"] = ""
        return
    river, rname = places.nearest("river", lat, lon)
    res, resname = places.nearest("reservoir", lat, lon)
    s["water_m"] = np.minimum(river, res)
    s["water_name"] = np.where(river <= res, np.asarray(rname, dtype=object), np.asarray(resname, dtype=object))
    s["karst_m"] = places.distance("karst", lat, lon)
    s["protected_m"] = places.distance("protected", lat, lon)


def _manifest_near(s: pd.DataFrame, manifests: pd.DataFrame) -> np.ndarray:
    """Whether a manifest of the stop's vehicle from the visited producer departed within
    OFFBOOK_WINDOW_H of the stop (the departure nearest the stop's midpoint decides)."""
    out = np.zeros(len(s), dtype=bool)
    sel = s.index[s["at_producer"].to_numpy(bool)]
    if len(sel) == 0 or manifests.empty:
        return out
    w = pd.Timedelta(hours=OFFBOOK_WINDOW_H)
    left = pd.DataFrame({"i": sel, "vehicle_id": s.loc[sel, "vehicle_id"].astype("str").to_numpy(),
                         "producer_id": s.loc[sel, "at_enterprise_id"].astype("str").to_numpy(),
                         "mid": (s.loc[sel, "start"] + (s.loc[sel, "end"] - s.loc[sel, "start"]) / 2).astype("datetime64[ns]"),
                         "start": s.loc[sel, "start"], "end": s.loc[sel, "end"]}).sort_values("mid")
    right = pd.DataFrame({"vehicle_id": manifests["vehicle_id"].astype("str").to_numpy(),
                          "producer_id": manifests["producer_id"].astype("str").to_numpy(),
                          "departed_at": manifests["departed_at"].astype("datetime64[ns]").to_numpy()}).sort_values("departed_at")
    m = pd.merge_asof(left, right, left_on="mid", right_on="departed_at", by=["vehicle_id", "producer_id"],
                      direction="nearest")
    hit = m["departed_at"].notna() & (m["departed_at"] >= m["start"] - w) & (m["departed_at"] <= m["end"] + w)
    out[m.loc[hit, "i"].to_numpy(int)] = True
    return out


# ---------------------------------------------------------------------------------------------
# trips


def trip_table(manifests: pd.DataFrame, index: StopIndex | None, enterprises: pd.DataFrame,
               stops: pd.DataFrame, as_of, memo: TripGpsMemo | None = None) -> pd.DataFrame:
    """One row per manifest departed on or before ``as_of``: GPS gaps while under the manifest
    (between departure, each fix and a known receipt), path length against the producer–receiver
    distance, duration and detour against the usual of earlier trips on the same route (medians of
    trips received before this one departed), whether the fixes ever reached the receiver, and the
    off-site stops made with the load (from classified ``stops``). ``memo`` keeps each trip's GPS
    evidence between as-of dates of the same stop index (``features.incremental``)."""
    c = cutoff(as_of)
    t = open_trips(manifests, as_of)
    t["vehicle_id"] = t["vehicle_id"].astype("str")
    rec = t["received_known"].notna()
    t["window_end"] = t["trip_end"].where(t["trip_end"] < c, c)
    e = enterprises.set_index("enterprise_id")
    plat, plon = _looked_up(t["producer_id"], e["lat"], e["lon"])
    rlat, rlon = _looked_up(t["receiver_id"], e["lat"], e["lon"])
    t["direct_km"] = haversine_m(plat, plon, rlat, rlon) / 1000.0
    _gps_evidence(t, index, rlat, rlon, int(c.value), rec.to_numpy(bool), memo)
    t["duration_h"] = ((t["received_known"] - t["departed_at"]).dt.total_seconds() / 3600.0).where(rec)
    ok_detour = rec & (t["n_fixes"] >= 2) & (t["direct_km"] >= MIN_DIRECT_KM)
    t["detour_ratio"] = (t["path_km"] / t["direct_km"]).where(ok_detour)
    t["route_duration_median_h"] = _route_median(t, "duration_h")
    t["route_detour_median"] = _route_median(t, "detour_ratio")
    t["duration_excess_ratio"] = t["duration_h"] / t["route_duration_median_h"].where(t["route_duration_median_h"] > 0)
    t["detour_excess_ratio"] = t["detour_ratio"] / t["route_detour_median"].where(t["route_detour_median"] > 0)
    t["receipt_without_visit"] = rec & (t["n_fixes"] >= 5) & (t["receiver_min_m"] > RECEIVER_MISS_M)
    off = stops[stops["loaded"] & ~stops["registered"]] if len(stops) else stops
    g = off.groupby("manifest_id") if len(off) else None
    names = ("offsite_stops", "offsite_stop_min", "night_offsite_stops")
    if g is None:
        counts = [pd.Series(dtype=float)] * 3
    else:
        counts = [g["duration_min"].size(), g["duration_min"].sum(), g["night"].sum()]  # one index: the manifests
    for name, counted in zip(names, _looked_up(t["manifest_id"], *counts), strict=True):
        t[name] = np.where(np.isnan(counted), 0.0, counted)
    return t.drop(columns=["window_end"])


def _looked_up(keys: pd.Series, *values: pd.Series) -> tuple[np.ndarray, ...]:
    """``keys.map(v)`` as float64 for each ``v`` of ``values`` (all with the same unique index): NaN
    where a key is not in it. The keys are looked up once (Series.map on text keys builds a Python
    object per key and casts the result back)."""
    pos = values[0].index.get_indexer(keys)
    out = []
    for v in values:
        found = v.to_numpy(dtype="float64")[np.maximum(pos, 0)] if len(v) else np.zeros(len(pos))
        out.append(np.where(pos >= 0, found, np.nan))
    return tuple(out)


def _gps_evidence(t: pd.DataFrame, index: StopIndex | None, rlat: np.ndarray, rlon: np.ndarray, c: int,
                  received: np.ndarray, memo: TripGpsMemo | None = None) -> None:
    if index is not None and not isinstance(index, StopIndex):  # fixes on a Dask cluster (features.distributed)
        index.gps_evidence(t, rlat, rlon, c, received)
        return
    n = len(t)
    cols = {"has_gps": np.zeros(n, bool), "n_fixes": np.zeros(n), "gps_gap_max_h": np.full(n, np.nan),
            "gps_gaps_over_10min": np.full(n, np.nan), "path_km": np.full(n, np.nan),
            "receiver_min_m": np.full(n, np.nan)}
    gap_at = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    if index is not None and n and len(index.fixes):
        a = index.fixes
        code = np.searchsorted(a.vehicles, t["vehicle_id"].to_numpy(object))
        code = np.where((code < len(a.vehicles)) & (a.vehicles[np.minimum(code, len(a.vehicles) - 1)] == t["vehicle_id"].to_numpy(object)), code, -1)
        starts, ends = a.vehicle_bounds()
        restore, extra = restored_fixes(index, c)
        ex_ts = np.full(len(a.vehicles), np.iinfo(np.int64).min, dtype=np.int64)
        ex_lat = np.zeros(len(a.vehicles))
        ex_lon = np.zeros(len(a.vehicles))
        ex_ts[extra.vehicle] = extra.ts
        ex_lat[extra.vehicle] = extra.lat
        ex_lon[extra.vehicle] = extra.lon
        known_gps = np.zeros(len(a.vehicles), dtype=bool)
        first = np.where(ends > starts, a.ts[np.minimum(starts, len(a) - 1)], np.iinfo(np.int64).max)
        known_gps[:] = (first < c) | restore
        t0 = t["departed_at"].astype("datetime64[ns]").to_numpy().view("int64")
        t1 = t["window_end"].astype("datetime64[ns]").to_numpy().view("int64")
        kernel = lambda sel: _trip_kernel(a.ts, a.lat, a.lon, starts, ends, code[sel], t0[sel], t1[sel],  # noqa: E731
                                          received[sel], ex_ts, ex_lat, ex_lon, rlat[sel], rlon[sel], int(GPS_GAP_S * 1e9))
        nf, gmax, gat, ngaps, path, rmin = _remembered(kernel, memo, code, t0, t1, received, rlat, rlon, ex_ts)
        has = (code >= 0) & known_gps[np.maximum(code, 0)]
        cols["has_gps"] = has
        cols["n_fixes"] = nf.astype(float)
        cols["gps_gap_max_h"] = np.where(has, gmax / 3.6e12, np.nan)
        cols["gps_gaps_over_10min"] = np.where(has, ngaps, np.nan)
        cols["path_km"] = np.where(has, path / 1000.0, np.nan)
        cols["receiver_min_m"] = np.where(has & (nf > 0), rmin, np.nan)
        gap_at = np.where(has, gat, gap_at)
    for k, v in cols.items():
        t[k] = v
    t["gps_gap_at"] = gap_at.astype("datetime64[ns]")  # int64 min is NaT


def _remembered(kernel, memo: TripGpsMemo | None, code: np.ndarray, t0: np.ndarray, t1: np.ndarray,
                received: np.ndarray, rlat: np.ndarray, rlon: np.ndarray, ex_ts: np.ndarray) -> tuple[np.ndarray, ...]:
    """``kernel`` (a function of a row selection) on every trip, reusing ``memo``'s answers for trips
    measured at an earlier as-of date. A trip that reads the date's restored last fix is neither
    taken from nor kept in the memo: that fix depends on the date."""
    n = len(code)
    if memo is None:
        return kernel(np.arange(n))
    reads_extra = (code >= 0) & (ex_ts[np.maximum(code, 0)] >= t0) & (ex_ts[np.maximum(code, 0)] < t1)
    keys = np.column_stack([code.astype(np.int64), t0, t1, received.astype(np.int64),
                            np.asarray(rlat, dtype="float64").view(np.int64), np.asarray(rlon, dtype="float64").view(np.int64)])
    rows = np.where(reads_extra, -1, memo.lookup(keys))
    miss = np.flatnonzero(rows < 0)
    fresh = kernel(miss)
    out = tuple(np.empty(n, dtype=f.dtype) for f in fresh)
    for o, new in zip(out, fresh, strict=True):
        o[miss] = new
    hit = rows >= 0
    if hit.any():
        for o, known_vals in zip(out, memo.take(rows[hit]), strict=True):
            o[hit] = known_vals
    keep = ~reads_extra[miss]
    memo.add(keys[miss[keep]], tuple(f[keep] for f in fresh))
    return out


@njit(cache=True)
def _trip_kernel(ts, lat, lon, starts, ends, code, t0, t1, received, ex_ts, ex_lat, ex_lon, rlat, rlon, gap_ns):
    """Per trip: fixes in [t0, t1), the longest silence (from departure, between fixes, and to a
    known receipt), silences over ``gap_ns``, path length (m) and closest approach to the receiver."""
    n = t0.size
    n_fixes = np.zeros(n, dtype=np.int64)
    gap_max = np.zeros(n, dtype=np.int64)
    gap_at = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    n_gaps = np.zeros(n, dtype=np.int64)
    path = np.zeros(n)
    rmin = np.full(n, np.inf)
    for k in range(n):
        v = code[k]
        if v < 0:
            continue
        a, b = starts[v], ends[v]
        lo = a + np.searchsorted(ts[a:b], t0[k])
        hi = a + np.searchsorted(ts[a:b], t1[k])
        use_extra = ex_ts[v] >= t0[k] and ex_ts[v] < t1[k]
        prev_t = t0[k]
        prev_lat = np.nan
        prev_lon = np.nan
        m = hi - lo + (1 if use_extra else 0)
        for j in range(m):
            if j < hi - lo:
                ft, fla, flo = ts[lo + j], lat[lo + j], lon[lo + j]
            else:
                ft, fla, flo = ex_ts[v], ex_lat[v], ex_lon[v]
            g = ft - prev_t
            if g > gap_max[k]:
                gap_max[k] = g
                gap_at[k] = prev_t
            if g > gap_ns:
                n_gaps[k] += 1
            if not math.isnan(prev_lat):
                path[k] += geodesic_m(prev_lat, prev_lon, fla, flo)
            if not math.isnan(rlat[k]):
                d = geodesic_m(rlat[k], rlon[k], fla, flo)
                if d < rmin[k]:
                    rmin[k] = d
            prev_t, prev_lat, prev_lon = ft, fla, flo
        n_fixes[k] = m
        if received[k] or m == 0:
            g = t1[k] - prev_t
            if g > gap_max[k]:
                gap_max[k] = g
                gap_at[k] = prev_t
            if g > gap_ns:
                n_gaps[k] += 1
    return n_fixes, gap_max, gap_at, n_gaps, path, rmin


def _route_median(t: pd.DataFrame, col: str) -> pd.Series:
    """Median of ``col`` over earlier trips on the same (producer, receiver) route: those received
    before this trip departed; NaN with fewer than MIN_ROUTE_TRIPS of them."""
    routes = _routes(t)
    done = t.assign(route=routes)[t["received_known"].notna() & t[col].notna()].sort_values("received_known")
    out = pd.Series(np.nan, index=t.index)
    if done.empty:
        return out
    code = pd.factorize(done["route"])[0]
    order = np.argsort(code, kind="stable")  # each route's trips in received order, routes one after another
    bounds = np.flatnonzero(np.r_[True, code[order][1:] != code[order][:-1], True])
    med, cnt = np.empty(len(done)), np.empty(len(done), dtype=np.int64)
    med[order], cnt[order] = _expanding_median(done[col].to_numpy(np.float64)[order], bounds[:-1], bounds[1:])
    done["med"], done["cnt"] = med, cnt
    right = done[["route", "received_known", "med", "cnt"]].rename(columns={"received_known": "at"})
    right["at"] = right["at"].astype("datetime64[ns]")
    left = pd.DataFrame({"i": t.index, "route": routes, "at": t["departed_at"].astype("datetime64[ns]")}).sort_values("at")
    m = pd.merge_asof(left, right.sort_values("at"), on="at", by="route", direction="backward", allow_exact_matches=False)
    m = m[m["cnt"] >= MIN_ROUTE_TRIPS]
    out.loc[m["i"].to_numpy()] = m["med"].to_numpy()
    return out


def _routes(t: pd.DataFrame) -> np.ndarray:
    """Each trip's (producer, receiver) route as one number (the same for the same pair); where a
    party is missing, the text "producer→receiver" as before (missing where a party is)."""
    producer, receiver = t["producer_id"], t["receiver_id"]
    if producer.isna().any() or receiver.isna().any():
        return (producer.astype(str) + "→" + receiver.astype(str)).to_numpy(object)
    p, r = pd.factorize(producer)[0], pd.factorize(receiver)[0]
    return p.astype(np.int64) * (int(r.max()) + 1 if r.size else 1) + r


@njit(cache=True)
def _expanding_median(values, starts, ends):
    """Median of each prefix of each segment [starts[k], ends[k]) (no NaN), and the prefix's length:
    what pandas' ``groupby(...).expanding().median()`` gives (the mean of the two middle values of
    an even count, ``(upper + lower) / 2``), kept sorted by insertion: routes hold few trips."""
    med = np.empty(values.size)
    cnt = np.empty(values.size, dtype=np.int64)
    for k in range(starts.size):
        s, e = starts[k], ends[k]
        buf = np.empty(e - s)
        for i in range(s, e):
            n, v = i - s, values[i]
            j = n
            while j > 0 and buf[j - 1] > v:
                buf[j] = buf[j - 1]
                j -= 1
            buf[j] = v
            n += 1
            mid = n // 2
            med[i] = buf[mid] if n % 2 else (buf[mid] + buf[mid - 1]) / 2
            cnt[i] = n
    return med, cnt


def as_of_window(frame: pd.DataFrame, column: str, as_of, days: int) -> pd.DataFrame:
    """Rows whose ``column`` lies in the ``days`` days ending at as_of: [cutoff - days, cutoff)."""
    end = cutoff(as_of)
    return frame[(frame[column] >= end - pd.Timedelta(days=days)) & (frame[column] < end)]


