"""Driving events of a set of vehicles from their cleaned fixes: speeding, restricted zones,
silences, and the driving spells fatigue is measured from (``features.driving`` joins them).

Works on a ``Track``: the stop index's cleaned fixes of a time slice ending at a cutoff, with the
reported speed and driver the index does not keep. One pass of NumPy per rule and compiled scans
(``features.driving_kernel``); no Python per fix. Times are int64 ns, local time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from features.driving_kernel import DAY_NS, drive_spells, flag_runs, manifest_gaps, run_argmax, steps
from features.driving_places import DrivingPlaces
from features.geo import haversine_m
from features.stops_asof import _count_before, _ranges, restored_fixes
from features.trajectories import NS, FixArrays, StopIndex, text_codes

if TYPE_CHECKING:
    from features.driving import DrivingParams

EVENT_COLUMNS = ["event_id", "category", "kind", "vehicle_id", "driver_id", "start", "end", "lat", "lon", "place",
                 "value", "limit", "unit", "n_fixes", "first_fix", "last_fix", "manifest_id", "distance_km"]
SPELL_COLUMNS = ["vehicle_id", "driver_id", "entity", "start", "end", "drive_s", "first_fix", "last_fix", "lat", "lon"]


# ---------------------------------------------------------------------------------------------
# per-fix attributes the stop index does not keep: reported speed and driver


@dataclass
class FixAttributes:
    """Reported speed (float32 km/h, NaN where empty) and driver (int32 codes into ``drivers``, -1
    where empty) of the index's cleaned fixes and of its dropped jumps, in their order."""

    speed: np.ndarray
    driver: np.ndarray
    jump_speed: np.ndarray
    jump_driver: np.ndarray
    drivers: np.ndarray


def fix_attributes(fixes: pd.DataFrame, index: StopIndex) -> FixAttributes:
    """Attributes of ``index``'s fixes, read from the frame it was built on (by input row)."""
    n = len(fixes)
    speed = fixes["speed_kmh"].to_numpy("float32", na_value=np.nan) if "speed_kmh" in fixes else np.full(n, np.nan, np.float32)
    if "driver_id" in fixes:  # a categorical's codes: 2.0 -> 0.05 s for the city's 39.6 M fixes
        codes, drivers = text_codes(fixes["driver_id"])
        drivers = np.asarray(drivers, dtype=object).astype(str)
    else:
        codes, drivers = np.full(n, -1), np.empty(0, dtype=object)
    codes = codes.astype(np.int32)
    rows = [f.rows if f.rows.size == len(f) else _rows_by_key(fixes, f) for f in (index.fixes, index.jumps)]
    return FixAttributes(speed[rows[0]], codes[rows[0]], speed[rows[1]], codes[rows[1]], drivers)


def _rows_by_key(fixes: pd.DataFrame, f: FixArrays) -> np.ndarray:
    """Input rows of ``f``'s fixes found by (vehicle, ts), for an index that kept none (``StopIndex.merge``)."""
    key = pd.MultiIndex.from_arrays([fixes["vehicle_id"].astype("str").to_numpy(object),
                                     pd.to_datetime(fixes["ts"]).astype("datetime64[ns]").to_numpy()])
    first = ~key.duplicated(keep="first")  # the index keeps the first of repeated (vehicle, ts)
    got = key[first].get_indexer(pd.MultiIndex.from_arrays([f.vehicles[f.vehicle] if len(f) else np.empty(0, object),
                                                            f.ts.astype("datetime64[ns]")]))
    if (got < 0).any():
        raise ValueError("the stop index was not built on these fixes")
    return np.flatnonzero(first)[got]


def attach_fix_attributes(index: StopIndex, fixes: pd.DataFrame) -> FixAttributes:
    """Compute and keep the attributes on the index (once: the index is built once per snapshot)."""
    attrs = index.__dict__.get("_driving_attrs")
    if attrs is None:
        attrs = fix_attributes(fixes, index)
        index.__dict__["_driving_attrs"] = attrs
    return attrs


@dataclass
class Track:
    """The cleaned fixes of [w0, c) as ``clean_fixes`` would give them on the fixes before ``c``,
    with their attributes: sorted by (vehicle, ts)."""

    fixes: FixArrays
    speed: np.ndarray
    driver: np.ndarray
    drivers: np.ndarray


def track(index: StopIndex, attrs: FixAttributes, c: int, w0: int) -> Track:
    """Fixes of the index in [w0, c) (ns), plus the last fix before c that the whole table drops as a
    jump only because of a later fix (``restored_fixes``): nothing at or after c decides anything."""
    a = index.fixes
    starts, ends = a.vehicle_bounds()
    hi = _count_before(a.ts, starts, ends, c)
    lo = _count_before(a.ts, starts, ends, w0)
    idx = _ranges(starts + lo, hi - lo)
    f = a.take(idx)
    speed, driver = attrs.speed[idx], attrs.driver[idx]
    restore, extra = restored_fixes(index, c, hi)
    if restore.any():
        j = index.jumps
        js, _ = j.vehicle_bounds()
        jn = _count_before(j.ts, js, j.vehicle_bounds()[1], c)
        ji = (js + jn - 1)[np.flatnonzero(restore)]
        keep = extra.ts >= w0
        ji, extra = ji[keep], extra.take(np.flatnonzero(keep))
        f = FixArrays(np.concatenate([f.vehicle, extra.vehicle]), np.concatenate([f.ts, extra.ts]),
                      np.concatenate([f.lat, extra.lat]), np.concatenate([f.lon, extra.lon]), a.vehicles)
        speed = np.concatenate([speed, attrs.jump_speed[ji]])
        driver = np.concatenate([driver, attrs.jump_driver[ji]])
        order = np.lexsort((f.ts, f.vehicle))
        f, speed, driver = f.take(order), speed[order], driver[order]
    return Track(f, speed, driver, attrs.drivers)


# ---------------------------------------------------------------------------------------------
# events of one set of vehicles (a whole index, or one part on a Dask worker)


def _events(kind: str, category: str, t: Track, vehicle: np.ndarray, start: np.ndarray, end: np.ndarray, at: np.ndarray,
            **cols) -> pd.DataFrame:
    """An event frame: ``at`` is the fix whose position, driver (and speed) stand for the event."""
    a = t.fixes
    vid = a.vehicles[vehicle] if vehicle.size else np.empty(0, dtype=object)
    drv = np.append(t.drivers, None)[t.driver[at]] if at.size else np.empty(0, object)  # code -1: the appended None
    frame = pd.DataFrame({"category": category, "kind": kind, "vehicle_id": vid.astype(object), "driver_id": drv,
                          "start": start.astype("datetime64[ns]"), "end": end.astype("datetime64[ns]"),
                          "lat": a.lat[at], "lon": a.lon[at]})
    for k, v in cols.items():
        frame[k] = v
    return frame


def vehicle_events(t: Track, places: DrivingPlaces, params: DrivingParams, trips: pd.DataFrame,
                   c: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Speeding, restricted and silent events of the vehicles in ``t``, and their driving spells
    (for fatigue, which joins spells across vehicles). ``trips``: known manifests of these vehicles
    with ``departed_at``, ``trip_end``, ``received_known``, ``manifest_id`` and receiver ``rlat``/``rlon``."""
    a, p = t.fixes, params
    step, dt = steps(a.vehicle, a.ts, a.lat, a.lon)
    with np.errstate(divide="ignore", invalid="ignore"):
        step_kmh = np.where(dt > 0, step / (dt / NS) * 3.6, np.nan)
    parts = [_speeding(t, places, p, step_kmh, dt), _restricted(t, places, p, step, step_kmh)]
    silent = _silent_moving(t, p, step, step_kmh, dt)
    gaps = _one_per_silence(_manifest_silences(t, p, trips, c))
    parts += [_without_covered(silent, gaps), gaps]
    events = pd.concat([e for e in parts if len(e)], ignore_index=True) if any(len(e) for e in parts) else _empty_events()
    return events, _spells(t, p, step, step_kmh, dt)


def _speeding(t: Track, places: DrivingPlaces, p: DrivingParams, step_kmh: np.ndarray, dt: np.ndarray) -> pd.DataFrame:
    a = t.fixes
    computed = np.where((dt > 0) & (dt <= p.speed_max_interval_s * NS), step_kmh, np.nan)
    speed = np.where(np.isfinite(t.speed), t.speed, computed)
    sec = (a.ts % DAY_NS) // NS
    night = (sec >= p.night_start_h * 3600) | (sec < p.night_end_h * 3600)
    factor = np.where(night, p.night_factor, 1.0)
    day_limit = np.full(len(a), p.default_limit_kmh)
    road = np.full(len(a), -1, dtype=np.int64)
    cand = np.flatnonzero(speed > min(p.default_limit_kmh, places.lowest_limit_kmh) * factor)  # NaN: never
    if cand.size:
        lim, r = places.road_limit(a.lat[cand], a.lon[cand], p.road_tolerance_m)
        day_limit[cand] = np.where(np.isfinite(lim), lim, p.default_limit_kmh)
        road[cand] = r
    limit = day_limit * factor
    over = speed > limit
    lo, hi = flag_runs(over, a.vehicle, np.zeros(len(a), dtype=np.int64), a.ts, int(p.speed_max_interval_s * NS))
    ok = (hi - lo + 1 >= p.speed_min_fixes) & (a.ts[hi] - a.ts[lo] >= p.speed_min_duration_s * NS)
    lo, hi = lo[ok], hi[ok]
    worst = run_argmax(np.where(over, speed / limit, 0.0), lo, hi)
    names = np.asarray(places.road_names + [""], dtype=object)
    return _events("speeding", "speeding", t, a.vehicle[lo], a.ts[lo], a.ts[hi], worst,
                   place=names[road[worst]], value=np.round(speed[worst], 1), limit=np.round(limit[worst], 1),
                   unit="km/h", n_fixes=hi - lo + 1, first_fix=a.ts[lo].astype("datetime64[ns]"),
                   last_fix=a.ts[hi].astype("datetime64[ns]"))


def _restricted(t: Track, places: DrivingPlaces, p: DrivingParams, step: np.ndarray, step_kmh: np.ndarray) -> pd.DataFrame:
    a = t.fixes
    if not places.zones:
        return _empty_events()
    zone = places.zone_of(a.lat, a.lon)
    inside = np.flatnonzero(zone >= 0)
    active = np.zeros(len(a), dtype=bool)
    active[inside] = places.zone_active(zone[inside], (a.ts[inside] % DAY_NS) // NS)
    lo, hi = flag_runs(active, a.vehicle, zone.astype(np.int64), a.ts, int(p.restricted_max_interval_s * NS))
    moving_fix = np.where(np.isfinite(t.speed), t.speed >= p.drive_min_kmh,
                          (np.nan_to_num(step_kmh) >= p.drive_min_kmh) & (np.nan_to_num(step) >= p.drive_min_step_m))
    moving = np.concatenate([[0], np.cumsum(active & moving_fix)])
    ok = moving[hi + 1] - moving[lo] >= p.restricted_min_fixes
    lo, hi = lo[ok], hi[ok]
    z = zone[lo]
    return _events("restricted", "restricted", t, a.vehicle[lo], a.ts[lo], a.ts[hi], lo,
                   place=np.asarray([places.zones[k].name for k in z], dtype=object),
                   value=np.round((a.ts[hi] - a.ts[lo]) / NS / 60.0, 1), unit="min",
                   limit=np.asarray([places.zones[k].hours_text() for k in z], dtype=object),
                   n_fixes=hi - lo + 1, first_fix=a.ts[lo].astype("datetime64[ns]"), last_fix=a.ts[hi].astype("datetime64[ns]"))


def _silent_moving(t: Track, p: DrivingParams, step: np.ndarray, step_kmh: np.ndarray, dt: np.ndarray) -> pd.DataFrame:
    """Silences over which the vehicle clearly moved, except to or from a spike: one fix far from
    both its neighbours while they lie within ``spike_return_m`` of each other (a GPS error between
    heartbeats of a parked truck; faster ones are dropped as jumps by the cleaning already)."""
    a = t.fixes
    n = len(a)
    spike = np.zeros(n, dtype=bool)
    far = step >= p.silent_min_distance_m  # NaN: False
    j = np.flatnonzero(far[1:-1] & far[2:]) + 1 if n > 2 else np.empty(0, dtype=np.int64)
    around = haversine_m(a.lat[j - 1], a.lon[j - 1], a.lat[j + 1], a.lon[j + 1])
    spike[j] = (a.vehicle[j - 1] == a.vehicle[j + 1]) & (around <= p.spike_return_m)
    i = np.flatnonzero((dt > p.silent_gap_s * NS) & (step >= p.silent_min_distance_m) & (step_kmh >= p.silent_min_kmh))
    i = i[~spike[i] & ~spike[i - 1]]
    return _events("moving", "silent", t, a.vehicle[i], a.ts[i - 1], a.ts[i], i - 1,
                   value=np.round(dt[i] / NS / 60.0, 1), unit="min", n_fixes=2,
                   first_fix=a.ts[i - 1].astype("datetime64[ns]"), last_fix=a.ts[i].astype("datetime64[ns]"),
                   distance_km=np.round(step[i] / 1000.0, 2))


def _manifest_silences(t: Track, p: DrivingParams, trips: pd.DataFrame, c: int) -> pd.DataFrame:
    a = t.fixes
    if trips.empty:
        return _empty_events()
    code = np.searchsorted(a.vehicles, trips["vehicle_id"].to_numpy(object))
    found = (code < len(a.vehicles)) & (a.vehicles[np.minimum(code, len(a.vehicles) - 1)] == trips["vehicle_id"].to_numpy(object))
    code = np.where(found, code, -1)
    starts, ends = a.vehicle_bounds()
    t0 = trips["departed_at"].astype("datetime64[ns]").to_numpy().view("int64")
    t1 = np.minimum(trips["trip_end"].astype("datetime64[ns]").to_numpy().view("int64"), c)
    received = (trips["received_known"].notna() & (trips["trip_end"] < pd.Timestamp(c))).to_numpy(bool)
    k, g0, g1, f0, f1 = manifest_gaps(a.ts, a.lat, a.lon, starts, ends, code, t0, t1, received,
                                      trips["rlat"].to_numpy(float), trips["rlon"].to_numpy(float),
                                      float(p.receiver_reach_m), int(p.silent_gap_s * NS))
    at = np.where(f0 >= 0, f0, f1)  # the fix standing for the silence: the one before it, else after
    plat, plon = trips["plat"].to_numpy(float)[k], trips["plon"].to_numpy(float)[k]
    rlat, rlon = trips["rlat"].to_numpy(float)[k], trips["rlon"].to_numpy(float)[k]
    lat0, lon0 = np.where(f0 >= 0, _pick(a.lat, f0), plat), np.where(f0 >= 0, _pick(a.lon, f0), plon)  # departure: the producer
    lat1, lon1 = np.where(f1 >= 0, _pick(a.lat, f1), rlat), np.where(f1 >= 0, _pick(a.lon, f1), rlon)  # receipt: the receiver
    moved = haversine_m(lat0, lon0, lat1, lon1)
    keep = (moved >= p.manifest_min_move_m) | (g1 - g0 > p.manifest_parked_s * NS)
    k, g0, g1, f0, f1, at, moved, plat, plon = (x[keep] for x in (k, g0, g1, f0, f1, at, moved, plat, plon))
    drivers = np.append(t.drivers, None)
    return pd.DataFrame({
        "category": "silent", "kind": "manifest", "vehicle_id": trips["vehicle_id"].to_numpy(object)[k],
        "driver_id": drivers[np.where(at >= 0, _pick(t.driver, at, -1), -1)],
        "start": g0.astype("datetime64[ns]"), "end": g1.astype("datetime64[ns]"),
        "lat": np.where(at >= 0, _pick(a.lat, at), plat), "lon": np.where(at >= 0, _pick(a.lon, at), plon),
        "value": np.round((g1 - g0) / NS / 60.0, 1), "unit": "min", "n_fixes": (f0 >= 0).astype(int) + (f1 >= 0),
        "first_fix": _pick(a.ts, f0, NAT).astype("datetime64[ns]"), "last_fix": _pick(a.ts, f1, NAT).astype("datetime64[ns]"),
        "manifest_id": trips["manifest_id"].to_numpy(object)[k], "distance_km": np.round(moved / 1000.0, 2)})


NAT = np.iinfo(np.int64).min


def _pick(values: np.ndarray, idx: np.ndarray, fill=np.nan) -> np.ndarray:
    """``values[idx]`` where ``idx >= 0``, else ``fill``."""
    if values.size == 0:
        return np.full(idx.size, fill)
    return np.where(idx >= 0, values[np.maximum(idx, 0)], fill)


def _one_per_silence(gaps: pd.DataFrame) -> pd.DataFrame:
    """One event per silence of a vehicle: the silences of several manifests carried together (a
    milk run) that overlap are joined, with the manifests' ids ``;``-separated."""
    if len(gaps) < 2:
        return gaps
    g = gaps.sort_values(["vehicle_id", "start", "end"], ignore_index=True)
    end_ns = g["end"].astype("datetime64[ns]").to_numpy().view("int64")
    prev_end = pd.Series(end_ns).groupby(g["vehicle_id"].to_numpy()).cummax().shift(1).to_numpy()
    new = (g["vehicle_id"] != g["vehicle_id"].shift()).to_numpy() | ~(g["start"].astype("datetime64[ns]").to_numpy().view("int64") < prev_end)
    key = np.cumsum(new)
    grp = g.groupby(key, sort=False)
    out = grp.first()
    out["end"] = grp["end"].max()
    out["first_fix"], out["last_fix"] = grp["first_fix"].min(), grp["last_fix"].max()
    out["manifest_id"] = grp["manifest_id"].agg(lambda m: ";".join(sorted(set(m.dropna().astype(str)))))
    out["distance_km"], out["n_fixes"] = grp["distance_km"].max(), grp["n_fixes"].max()
    out["value"] = np.round((out["end"] - out["start"]).dt.total_seconds() / 60.0, 1)
    return out.reset_index(drop=True)


def _without_covered(moving: pd.DataFrame, gaps: pd.DataFrame) -> pd.DataFrame:
    """Silences while moving that no silence under a manifest (of the same vehicle) overlaps."""
    if moving.empty or gaps.empty:
        return moving
    m = moving.reset_index().merge(gaps[["vehicle_id", "start", "end"]], on="vehicle_id", suffixes=("", "_g"))
    hit = m.loc[(m["start"] < m["end_g"]) & (m["start_g"] < m["end"]), "index"].unique()
    return moving.drop(index=hit)


def _spells(t: Track, p: DrivingParams, step: np.ndarray, step_kmh: np.ndarray, dt: np.ndarray) -> pd.DataFrame:
    a = t.fixes
    long_gap = dt > p.silent_gap_s * NS
    moved = np.where(np.isfinite(t.speed), t.speed >= p.drive_min_kmh, (step_kmh >= p.drive_min_kmh) & (step >= p.drive_min_step_m))
    gap_driving = (step_kmh >= p.gap_drive_kmh) & (dt <= p.gap_drive_max_h * 3600 * NS)
    driving = np.where(long_gap, gap_driving, moved) & (dt > 0)
    entity = np.where(t.driver >= 0, t.driver, t.drivers.size + a.vehicle).astype(np.int64)
    first, last, start, end, drive, _dist = drive_spells(a.vehicle, entity, a.ts, np.nan_to_num(step), driving,
                                                         int(p.rest_min_min * 60 * NS))
    ent = entity[first]
    is_driver = ent < t.drivers.size
    vid = a.vehicles[a.vehicle[first]] if first.size else np.empty(0, dtype=object)
    drv = np.append(t.drivers, None)[np.where(is_driver, ent, -1)]
    return pd.DataFrame({"vehicle_id": vid.astype(object), "driver_id": drv,
                         "entity": np.where(is_driver, "driver:" + drv.astype(str), "vehicle:" + vid.astype(str)),
                         "start": start.astype("datetime64[ns]"), "end": end.astype("datetime64[ns]"),
                         "drive_s": drive / NS, "first_fix": a.ts[first].astype("datetime64[ns]"),
                         "last_fix": a.ts[last].astype("datetime64[ns]"), "lat": a.lat[last], "lon": a.lon[last]},
                        columns=SPELL_COLUMNS)


def _empty_events() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="datetime64[ns]" if c in ("start", "end", "first_fix", "last_fix") else
                                      "float64" if c in ("lat", "lon", "value", "distance_km") else object)
                         for c in EVENT_COLUMNS})
