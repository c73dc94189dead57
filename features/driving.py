"""Driving violations of dangerous-goods vehicles, detected from their GPS fixes as events.

Five categories, each event with its vehicle, driver (where the terminal records one), start, end,
place, value and the fixes behind it (``first_fix``/``last_fix``: the fix times bounding it):

- ``speeding``: reported ``speed_kmh`` (else the speed between consecutive fixes) above the limit
  of the nearest ``road`` within ``road_tolerance_m`` that states one, else ``default_limit_kmh``;
  between 22:00 and 06:00 local time the limit is ``night_factor`` of it. Only a run of at least
  ``speed_min_fixes`` consecutive fixes lasting ``speed_min_duration_s`` is an event, so one noisy
  fix never is.
- ``fatigue``: ``continuous`` driving beyond ``continuous_limit_h`` without a pause of at least
  ``rest_min_min``, and ``daily`` driving beyond ``daily_limit_h`` in a local calendar day; per
  driver where ``driver_id`` is recorded, else per vehicle (a driver who changes vehicles keeps
  counting; two drivers sharing a truck each count their own).
- ``restricted``: fixes inside a ``restricted`` place while its ``hours`` apply (local time,
  ranges half-open, a range may cross midnight), at least ``restricted_min_fixes`` of them moving.
- ``silent``: the terminal silent over ``silent_gap_s`` while the vehicle moved (``moving``: the
  distance and time between the fixes around the silence imply driving), or while a manifest's
  load was on the road (``manifest``: from ``departed_at`` until the vehicle reaches the receiver,
  else the known receipt).
- ``unpermitted``: a manifest carried by a vehicle without a hazmat permit.

Defaults follow the Chinese rules, cited beside each parameter. Everything is computed as of a
date T from the fixes and manifests known at T only (``cutoff(T)``); events are those starting in
the ``window_days`` days up to T. Per-fix work is vectorised over the stop detector's sorted
arrays (``StopIndex.fixes``); the runs, spells and silences are compiled scans
(``features.driving_kernel``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.trips import MAX_TRIP_H, RECEIVER_MISS_M


@dataclass(frozen=True)
class DrivingParams:
    """Every limit of the driving rules (km/h, hours, minutes, seconds, metres as named)."""

    # 《危险货物道路运输安全管理办法》(交通运输部等令2019年第29号) 第四十六条: dangerous-goods vehicles at most
    # 80 km/h on expressways and 60 km/h on other roads, lower where signs say so. A `road` place
    # carries its own limit (80 for an expressway); elsewhere the 60 of "other roads" applies.
    default_limit_kmh: float = 60.0
    road_tolerance_m: float = 50.0  # a fix this close to a road is on it (GPS error 5-15 m, mapped centre lines)
    # Night 22:00-06:00 at 80% of the day limit: 《道路运输车辆动态监督管理办法》 sets this for passenger
    # vehicles' monitoring limits (客运车辆夜间行驶速度不得超过日间限速80%); monitoring platforms apply it to
    # dangerous-goods vehicles as practice. Configurable; 1.0 switches it off.
    night_factor: float = 0.8
    night_start_h: float = 22.0
    night_end_h: float = 6.0
    speed_min_fixes: int = 3  # persistence: a run of at least this many fixes over the limit ...
    speed_min_duration_s: float = 60.0  # ... lasting at least this long
    speed_max_interval_s: float = 120.0  # fixes further apart neither give a speed nor continue a run
    # 《中华人民共和国道路交通安全法实施条例》第六十二条第七项: 连续驾驶机动车超过4小时未停车休息或者停车休息时间少于
    # 20分钟 — more than 4 h, a rest under 20 min does not count.
    continuous_limit_h: float = 4.0
    rest_min_min: float = 20.0
    # 《道路运输车辆动态监督管理办法》: 24小时内累计驾驶时间原则上不超过8小时 (the monitoring limits); taken per
    # local calendar day here, so that a day gives one event.
    daily_limit_h: float = 8.0
    # Between fixes at most silent_gap_s apart the vehicle drives when the terminal reports at least
    # drive_min_kmh at the later fix, or, without a reported speed, when it moved that fast and at
    # least drive_min_step_m (GPS error of 5-15 m makes a parked vehicle "move" a few km/h at 30 s).
    drive_min_kmh: float = 5.0
    drive_min_step_m: float = 30.0
    gap_drive_kmh: float = 30.0  # over a longer silence: only this fast on average counts as driving throughout,
    gap_drive_max_h: float = 12.0  # and only if it is this short (a 60-hour silence over 2,000 km was no one drive)
    restricted_min_fixes: int = 2  # moving fixes inside an active zone needed for an event (one may be GPS error)
    restricted_max_interval_s: float = 600.0
    # Terminals report every 30 s while the engine runs (JT/T 808 practice, the contract's §1); a
    # silence of 10 min is what trip evidence already calls a gap (features.trips.GPS_GAP_S).
    silent_gap_s: float = 600.0
    silent_min_distance_m: float = 1000.0
    silent_min_kmh: float = 10.0
    spike_return_m: float = 300.0  # a far fix whose neighbours agree this closely is a GPS error, not a drive
    # Under a manifest a silence counts when the vehicle moved over it (or from the producer / to the
    # receiver) at least manifest_min_move_m, or when it lasted manifest_parked_s even if it did not:
    # a meal with the engine off is not an event, a loaded truck dark for hours is.
    manifest_min_move_m: float = 500.0
    manifest_parked_s: float = 7200.0
    receiver_reach_m: float = RECEIVER_MISS_M  # a loaded trip ends at the first fix this close to the receiver
    max_trip_h: float = MAX_TRIP_H
    window_days: int = 90  # contract §4: vehicle leads cover the 90 days up to T
    margin_days: int = 2  # fixes read before the window, so that runs and stints crossing its start are whole

    def __post_init__(self) -> None:
        if self.speed_min_fixes < 1 or self.restricted_min_fixes < 1:
            raise ValueError("speed_min_fixes and restricted_min_fixes must be at least 1")
        if not 0 < self.night_factor <= 1:
            raise ValueError("night_factor must be in (0, 1]")
        if self.window_days < 1 or self.margin_days < 1:
            raise ValueError("window_days and margin_days must be at least 1")


DRIVING = DrivingParams()
CATEGORIES = ("speeding", "fatigue", "restricted", "silent", "unpermitted")
UNITS = {"speeding": "km/h", "fatigue": "h", "restricted": "min", "silent": "min", "unpermitted": "t"}


@dataclass
class DrivingEvents:
    """Events of every category starting in the window up to ``as_of``, one row each (``EVENT_COLUMNS``,
    ``event_id`` stable across as-of dates once the event is over), sorted by vehicle and start."""

    as_of: pd.Timestamp
    events: pd.DataFrame
    window_start: pd.Timestamp


def driving_events(snapshot, as_of, index=None, places=None, params: DrivingParams = DRIVING) -> DrivingEvents:
    """Driving violations known at ``as_of`` (a day): detected on the fixes and manifests dated
    before ``cutoff(as_of)`` from ``window_days + margin_days`` before it, kept when they start in
    the ``window_days`` days up to ``as_of``.

    ``index`` is the snapshot's stop index (``features.trajectory_features.build_stop_index``, built
    here if absent; a ``ClusterStopIndex`` runs the per-vehicle part on its workers); ``places`` a
    ``DrivingPlaces`` or a ``PlaceIndex`` (whose projection is used)."""
    from features.driving_places import DrivingPlaces
    from features.driving_track import EVENT_COLUMNS, attach_fix_attributes, track, vehicle_events
    from features.geo import LocalProjection, PlaceIndex
    from features.timeutil import as_of_day, cutoff
    from features.trajectories import StopIndex

    day = as_of_day(as_of)
    c = cutoff(day)
    wstart = c - pd.Timedelta(days=params.window_days)
    w0 = wstart - pd.Timedelta(days=params.margin_days)
    if not isinstance(places, DrivingPlaces):
        proj = places.projection if isinstance(places, PlaceIndex) else LocalProjection.around(
            snapshot.enterprises["lat"].to_numpy(), snapshot.enterprises["lon"].to_numpy())
        places = DrivingPlaces(snapshot.places, proj)
    if index is None:
        from features.trajectory_features import build_stop_index

        index = build_stop_index(snapshot)
    trips = loaded_trips(snapshot, day, w0)
    if isinstance(index, StopIndex):
        attrs = attach_fix_attributes(index, snapshot.trajectories)
        events, spells = vehicle_events(track(index, attrs, int(c.value), int(w0.value)), places, params, trips, int(c.value))
    else:  # a ClusterStopIndex (features.distributed): each part on its worker
        events, spells = index.driving(places, params, trips, int(c.value), int(w0.value))
    parts = [events, fatigue_events(spells, params), unpermitted_events(trips, snapshot.vehicles)]
    ev = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else events
    ev = ev[(ev["start"] >= wstart) & (ev["start"] < c)].copy()
    ev["event_id"] = _event_ids(ev)
    ev = ev.sort_values(["vehicle_id", "start", "category", "kind", "event_id"], kind="stable", ignore_index=True)
    return DrivingEvents(day, _typed(ev.reindex(columns=EVENT_COLUMNS)), wstart)


def _typed(ev: pd.DataFrame) -> pd.DataFrame:
    """One dtype per column whatever the parts held (text, float, timestamps; ``limit`` holds km/h,
    hours or the zone's hours text, so it stays object)."""
    for c in ("event_id", "category", "kind", "vehicle_id", "driver_id", "place", "unit", "manifest_id"):
        ev[c] = ev[c].astype("str").where(ev[c].notna())
    for c in ("lat", "lon", "value", "n_fixes", "distance_km"):
        ev[c] = ev[c].astype("float64")
    for c in ("start", "end", "first_fix", "last_fix"):
        ev[c] = ev[c].astype("datetime64[ns]")
    ev["limit"] = ev["limit"].astype(object)
    return ev


def loaded_trips(snapshot, as_of, since: pd.Timestamp) -> pd.DataFrame:
    """Manifests known at ``as_of`` departed since ``since``, with the producer's and receiver's
    registered locations (``plat``/``plon``, ``rlat``/``rlon``); see ``features.trips.open_trips``."""
    from features.trips import open_trips

    t = open_trips(snapshot.manifests, as_of)
    t = t[t["departed_at"] >= since].reset_index(drop=True)
    t["vehicle_id"] = t["vehicle_id"].astype("str")
    e = snapshot.enterprises.drop_duplicates("enterprise_id").set_index("enterprise_id")
    for side, col in (("p", "producer_id"), ("r", "receiver_id")):
        t[f"{side}lat"] = t[col].map(e["lat"]).astype("float64")
        t[f"{side}lon"] = t[col].map(e["lon"]).astype("float64")
    return t


def fatigue_events(spells: pd.DataFrame, p: DrivingParams = DRIVING) -> pd.DataFrame:
    """Continuous and daily driving past the limits, per entity (a driver, or a vehicle without
    recorded drivers), from driving spells of any vehicles (``driving_track.vehicle_events``). The
    event is the vehicle's on which the limit was passed, located where that spell ended."""
    if spells.empty:
        return pd.DataFrame()
    s = spells.sort_values(["entity", "start"], kind="stable", ignore_index=True)
    code = pd.factorize(s["entity"])[0].astype(np.int64)
    ns = {c: s[c].astype("datetime64[ns]").to_numpy().view("int64") for c in ("start", "end")}
    drive = (s["drive_s"].to_numpy(float) * 1e9).astype(np.int64)
    from features.driving_kernel import continuous_stints

    first, last, over, total = continuous_stints(code, ns["start"], ns["end"], drive, int(p.rest_min_min * 60e9),
                                                 int(p.continuous_limit_h * 3600e9))
    end = np.array([ns["end"][a:b + 1].max() for a, b in zip(first, last, strict=True)], dtype=np.int64)
    cont = _fatigue_frame("continuous", s, first, last, over, total / 3.6e12, end, p.continuous_limit_h)
    s["day"] = s["start"].dt.floor("D")
    g = s.groupby(["entity", "day"], sort=False)
    s["cum"] = g["drive_s"].cumsum()
    tot = g["drive_s"].transform("sum")
    crossing = s[(s["cum"] > p.daily_limit_h * 3600) & (tot > p.daily_limit_h * 3600)].drop_duplicates(["entity", "day"])
    if crossing.empty:
        return cont
    idx = np.arange(len(s))
    first_d = g["start"].transform("idxmin").to_numpy()[crossing.index]
    last_d = g["end"].transform("idxmax").to_numpy()[crossing.index]
    daily = _fatigue_frame("daily", s, first_d, last_d, idx[crossing.index], tot.to_numpy()[crossing.index] / 3600.0,
                           ns["end"][last_d], p.daily_limit_h)
    return pd.concat([cont, daily], ignore_index=True)


def _fatigue_frame(kind: str, s: pd.DataFrame, first, last, over, hours, end, limit: float) -> pd.DataFrame:
    return pd.DataFrame({"category": "fatigue", "kind": kind, "vehicle_id": s["vehicle_id"].to_numpy(object)[over],
                         "driver_id": s["driver_id"].to_numpy(object)[over], "start": s["start"].to_numpy()[first],
                         "end": np.asarray(end, dtype=np.int64).astype("datetime64[ns]"),
                         "lat": s["lat"].to_numpy(float)[over], "lon": s["lon"].to_numpy(float)[over],
                         "value": np.round(np.asarray(hours, dtype=float), 2), "limit": limit, "unit": "h",
                         "first_fix": s["first_fix"].to_numpy()[first], "last_fix": s["last_fix"].to_numpy()[last],
                         "entity": s["entity"].to_numpy(object)[over]})


def unpermitted_events(trips: pd.DataFrame, vehicles: pd.DataFrame) -> pd.DataFrame:
    """Manifests (``loaded_trips``) carried by a vehicle registered without a hazmat permit."""
    permit = vehicles.assign(vehicle_id=vehicles["vehicle_id"].astype("str")).drop_duplicates("vehicle_id").set_index("vehicle_id")["hazmat_permit"]
    bad = trips[(trips["vehicle_id"].map(permit) == False).fillna(False).to_numpy(bool)]  # noqa: E712
    return pd.DataFrame({"category": "unpermitted", "kind": "manifest", "vehicle_id": bad["vehicle_id"].to_numpy(object),
                         "driver_id": None, "start": bad["departed_at"].to_numpy(),
                         "end": bad["received_known"].fillna(bad["departed_at"]).to_numpy(),
                         "lat": bad["plat"].to_numpy(float), "lon": bad["plon"].to_numpy(float),
                         "value": bad["quantity_t"].to_numpy(float), "unit": "t",
                         "manifest_id": bad["manifest_id"].to_numpy(object)})


def _event_ids(ev: pd.DataFrame) -> pd.Series:
    """``category-kind:who:YYYYmmddTHHMMSS`` (who: the vehicle, or the fatigued driver's entity;
    time: the first fix behind it, else its start): the same event keeps its id at later as-of dates."""
    who = ev["vehicle_id"].astype(str)
    if "entity" in ev:
        who = ev["entity"].where(ev["entity"].notna(), who).astype(str)
    when = ev["first_fix"].where(ev["first_fix"].notna(), ev["start"]) if "first_fix" in ev else ev["start"]
    tag = ev["manifest_id"].fillna("").astype(str) if "manifest_id" in ev else ""
    return (ev["category"] + "-" + ev["kind"] + ":" + who + ":" + pd.to_datetime(when).dt.strftime("%Y%m%dT%H%M%S")
            + np.where(tag != "", ":" + tag, ""))
