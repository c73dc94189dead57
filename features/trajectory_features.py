"""Trajectory evidence at an as-of date: classified stops, manifest trips, features by enterprise
and vehicle, and candidate sites — one call, ``trajectory_evidence(snapshot, as_of, index)``.

Stops are detected once for the whole snapshot (``build_stop_index``); each as-of date derives
its stops from that index exactly as if only the fixes before ``cutoff(as_of)`` existed.

Attribution: a stop made with a load (inside a manifest trip) counts for the manifest's
producer, transporter and receiver; a stop without a load counts for the vehicle's owner. A visit
to a producer (off-book, or by a vehicle without a hazmat permit) counts for that producer and
the owner. Trip evidence counts for the manifest's three parties. Windows end at as_of inclusive
and are dated by the stop's start or the manifest's departure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from features.geo import LocalProjection, PlaceIndex, haversine_m
from features.grouped import worst_rows
from features.incremental import AsOfCache
from features.sites import candidate_sites
from features.snapshot import Snapshot
from features.stops_asof import dark_stays, stops_as_of
from features.timeutil import as_of_day, cutoff
from features.trajectories import TRUCK_STOPS, StopIndex, StopParams, vehicle_order
from features.trajectory_catalogue import (
    ENTERPRISE_STOP_FEATURES,
    TRIP_FEATURES,
    TRIP_WINDOWS,
    VEHICLE_TRIP_FEATURES,
)
from features.trips import (
    GPS_GAP_S,
    NEAR_KARST_M,
    NEAR_PROTECTED_M,
    NEAR_WATER_M,
    classify_stops,
    trip_table,
)

STOP_WINDOW_DAYS = 365  # stops older than this at as_of feed no feature

STOP_FIELDS = ["when", "where", "vehicle_id", "manifest_id", "place", "dist_m", "minutes"]
TRIP_FIELDS = ["manifest_id", "vehicle_id", "when"]


@dataclass
class TrajectoryEvidence:
    """Everything the trajectories say at ``as_of``.

    ``stops``: classified stays started in the 365 days to as_of — stops and silent stays
    (``dark``: terminal off, vehicle unmoved, see ``dark_stays``) merged where they continue each
    other (``merge_stays``); ``trips``: one row per manifest known at as_of; ``enterprise``:
    features (with ``<feature>@<field>`` evidence) by enterprise_id. ``vehicle`` (the same by
    vehicle_id) and ``sites`` (candidate illegal sites by site_id, see ``features.sites``) are
    made from these when first read: training builds dozens of dates and reads neither (a late
    city date spent an eighth of its time on them).
    """

    as_of: pd.Timestamp
    stops: pd.DataFrame
    trips: pd.DataFrame
    enterprise: pd.DataFrame
    params: StopParams = field(default_factory=StopParams)
    vehicle_ids: pd.Index = field(default_factory=lambda: pd.Index([], name="vehicle_id"), repr=False)
    places: PlaceIndex | None = field(default=None, repr=False)
    stop_evidence: pd.DataFrame | None = field(default=None, repr=False)  # ``_stop_evidence(stops)``

    @cached_property
    def vehicle(self) -> pd.DataFrame:
        """Trajectory features by vehicle_id (``vehicle_features``)."""
        return vehicle_features(self.stops, self.trips, self.vehicle_ids, self.as_of, self.stop_evidence)

    @cached_property
    def sites(self) -> pd.DataFrame:
        """Candidate illegal sites by site_id (``features.sites.candidate_sites``)."""
        return candidate_sites(self.stops, self.trips, self.places, self.as_of)

    @property
    def offsite_stops(self) -> pd.DataFrame:
        """Stops more than 300 m from every registered enterprise (vehicle_id, start, end, lat, lon, night, …)."""
        return self.stops[~self.stops["registered"]].reset_index(drop=True)


def build_stop_index(snapshot: Snapshot, params: StopParams = TRUCK_STOPS, client=None,
                     partitions: int | None = None) -> StopIndex:
    """Clean the snapshot's fixes and detect every stop once (truck parameters by default).

    With a Dask ``client`` the vehicles are split into ``partitions`` groups (default: two per
    worker), each group's index is built on a worker, and the parts are merged: the same index.
    """
    fixes = snapshot.trajectories
    if not isinstance(fixes, pd.DataFrame):  # fixes left on a Dask cluster: load_snapshot(..., trajectories="cluster")
        return fixes.stop_index(params, partitions)
    if client is None:
        return StopIndex.build(fixes, params)
    vid = fixes["vehicle_id"].astype("str")
    ids = np.sort(vid.unique())
    from features.distributed import n_workers

    k = partitions or 2 * n_workers(client)
    groups = [g for g in np.array_split(ids, min(k, max(len(ids), 1))) if len(g)]
    if not groups:
        return StopIndex.build(fixes, params)
    parts = [fixes[vid.isin(g).to_numpy()] for g in groups]
    futures = client.map(StopIndex.build, parts, params=params, pure=False)
    return StopIndex.merge(client.gather(futures))


def trajectory_part(snapshot: Snapshot, as_of, index: StopIndex | None = None, places: PlaceIndex | None = None,
                    checks: pd.DataFrame | None = None, engine: str = "pandas", dask_client=None,
                    cache: AsOfCache | None = None) -> TrajectoryEvidence:
    """``trajectory_evidence`` for ``features.build``: with ``engine="dask"`` and no index, stops are
    detected on the Dask cluster, partitioned by vehicle. ``checks`` is accepted and not needed."""
    if index is None and engine == "dask":
        from features.distributed import cluster_stop_index

        index = cluster_stop_index(snapshot, dask_client)  # stays on the workers, split by vehicle
    return trajectory_evidence(snapshot, as_of, index, places, cache)


def snapshot_places(snapshot: Snapshot) -> PlaceIndex:
    e = snapshot.enterprises
    return PlaceIndex(snapshot.places, LocalProjection.around(e["lat"].to_numpy(), e["lon"].to_numpy()))


def trajectory_evidence(snapshot: Snapshot, as_of, index: StopIndex | None = None,
                        places: PlaceIndex | None = None, cache: AsOfCache | None = None) -> TrajectoryEvidence:
    """Trajectory evidence known at ``as_of`` (a day; fixes and manifests before the next midnight).

    Pass the same ``index`` (``build_stop_index``) and ``places`` for many as-of dates: stops are
    then detected once. Without them they are built here from the whole snapshot, which gives the
    same result. A ``cache`` (``features.incremental.AsOfCache``) shared by those dates keeps each
    manifest trip's GPS evidence once its window has closed.
    """
    as_of = as_of_day(as_of)
    index = index if index is not None else build_stop_index(snapshot)
    places = places if places is not None else snapshot_places(snapshot)
    since = as_of_window_start(as_of, STOP_WINDOW_DAYS)  # the stays counted start then or later
    stops = pd.concat([stops_as_of(index, as_of, since).assign(dark=False),
                       dark_stays(index, cutoff(as_of), since).assign(dark=True)], ignore_index=True)
    stops = merge_stays(stops, index.params.max_diameter_m, since=since)
    s = classify_stops(stops, snapshot.enterprises, snapshot.vehicles, snapshot.manifests, places, as_of)
    s["suspicion"] = stop_suspicion(s)
    trips = trip_table(snapshot.manifests, index, snapshot.enterprises, s, as_of,
                       cache.trips_for(index) if cache is not None else None)
    ent_ids = pd.Index(snapshot.enterprises["enterprise_id"].astype("str"), name="enterprise_id")
    veh_ids = pd.Index(snapshot.vehicles["vehicle_id"].astype("str"), name="vehicle_id")
    ev = _stop_evidence(s)  # once for the enterprise and the vehicle tables
    enterprise = enterprise_features(s, trips, ent_ids, as_of, ev)
    return TrajectoryEvidence(as_of, s, trips, enterprise, index.params, veh_ids, places, ev)


def merge_stays(stops: pd.DataFrame, max_diameter_m: float, max_break_s: float = GPS_GAP_S,
                since: pd.Timestamp | None = None) -> pd.DataFrame:
    """One row per stay: consecutive stops and silent stays of a vehicle less than ``max_break_s``
    apart with centres within ``max_diameter_m`` are one stay (a terminal that wakes up hourly in a
    parked truck, or jitter that breaks a stop for a fix). Its centre is the fix-weighted mean of
    the parts' centres; ``n_parts`` counts them; ``dark`` if any part was silent. With ``since``,
    only stays starting then or later are returned (chains are still found on all the stops)."""
    if since is not None:
        stops = _stops_from(stops, np.datetime64(pd.Timestamp(since).as_unit("ns")))
    return _merge(stops, max_diameter_m, max_break_s, since)


def _stops_from(stops: pd.DataFrame, since: np.datetime64) -> pd.DataFrame:
    """The stops starting at ``since`` or later and each vehicle's last stop before (it decides
    whether the first of them continues an earlier chain, which ``since`` then drops): on these,
    every chain starting at ``since`` or later is the one found on all the stops. At a late as-of
    date most of the history comes before ``since``; it is no longer sorted and chained each date."""
    start = stops["start"].to_numpy()
    late = start >= since
    if late.all() or stops["start"].isna().any() or stops["vehicle_id"].isna().any():
        return stops
    early = np.flatnonzero(~late)
    code = pd.factorize(stops["vehicle_id"])[0][early]
    order = np.lexsort((early, start[early], code))  # by vehicle, start, then input order (the stable sort's)
    last = order[np.r_[code[order][1:] != code[order][:-1], True]]
    late[early[last]] = True
    return stops[late]


def _by_vehicle(stops: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """``stops.sort_values(["vehicle_id", "start"], kind="stable", ignore_index=True)`` and each row's
    vehicle as a number that is equal where the ids are. Ordered by the ids' sorted codes (one
    ``np.lexsort`` of two integer keys, not a sort of strings at each as-of date). With a missing id
    or start, pandas sorts (it puts them last) and the ids themselves are the numbers (a missing
    id equal to none)."""
    vid, start = stops["vehicle_id"], stops["start"]
    if vid.isna().any() or start.isna().any():
        s = stops.sort_values(["vehicle_id", "start"], kind="stable", ignore_index=True)
        return s, s["vehicle_id"].to_numpy(object)
    codes = pd.factorize(vid, sort=True)[0]
    order = vehicle_order(codes, start.to_numpy())
    if isinstance(order, slice):
        return stops.reset_index(drop=True), codes
    return stops.take(order).reset_index(drop=True), codes[order]


def _merge(stops: pd.DataFrame, max_diameter_m: float, max_break_s: float, since: pd.Timestamp | None) -> pd.DataFrame:
    s, v = _by_vehicle(stops)
    if s.empty:
        return s.assign(n_parts=pd.Series(dtype="int64"))
    lat, lon = s["lat"].to_numpy(float), s["lon"].to_numpy(float)
    link = np.zeros(len(s), dtype=bool)
    link[1:] = ((v[1:] == v[:-1])
                & ((s["start"].to_numpy()[1:] - s["end"].to_numpy()[:-1]) <= np.timedelta64(int(max_break_s * 1e9), "ns"))
                & (haversine_m(lat[1:], lon[1:], lat[:-1], lon[:-1]) <= max_diameter_m))
    g = np.cumsum(~link)
    if since is not None:
        first_start = s["start"].to_numpy()[~link]  # the start of each chain, chains numbered 1..
        keep = first_start[g - 1] >= np.datetime64(pd.Timestamp(since).as_unit("ns"))
        s, g, link, lat, lon = s[keep].reset_index(drop=True), g[keep], link[keep], lat[keep], lon[keep]
    if not link.any():
        return s.assign(n_parts=1)
    w = s["n_fixes"].to_numpy(float)
    agg = pd.DataFrame({"g": g, "wlat": lat * w, "wlon": lon * w, "w": w}).groupby("g").sum()
    first = s.groupby(g)
    return pd.DataFrame({
        "vehicle_id": first["vehicle_id"].first(), "start": first["start"].min(), "end": first["end"].max(),
        "lat": agg["wlat"] / agg["w"], "lon": agg["wlon"] / agg["w"], "n_fixes": first["n_fixes"].sum(),
        "dark": first["dark"].any(), "n_parts": first.size(),
    }).reset_index(drop=True)


def stop_suspicion(s: pd.DataFrame) -> pd.Series:
    """How strongly one stop calls for a look, to pick the evidence stop of a feature: loaded,
    night, by water, karst or a protected area, and long (up to an hour) each add."""
    return (s["loaded"].astype(float) + s["night"].astype(float) + (s["water_m"] <= NEAR_WATER_M).astype(float)
            + 0.8 * (s["karst_m"] <= NEAR_KARST_M).astype(float) + 0.8 * (s["protected_m"] <= NEAR_PROTECTED_M).astype(float)
            + 0.5 * (s["duration_min"] / 60.0).clip(upper=1.0) - 0.001 * s["water_m"].clip(upper=1000.0) / 1000.0)


# ---------------------------------------------------------------------------------------------
# aggregation


def _stop_evidence(s: pd.DataFrame) -> pd.DataFrame:
    """Evidence fields of each stop, as reason templates use them; ``where`` (the position as text)
    is written only for the stops a feature picks (``_evidence_of``), from ``lat`` and ``lon``."""
    return pd.DataFrame({
        "when": s["start"],
        "lat": s["lat"].to_numpy(float),
        "lon": s["lon"].to_numpy(float),
        "vehicle_id": s["vehicle_id"],
        "manifest_id": s["manifest_id"],
        "place": s["water_name"].where(s["water_m"] < np.inf, None) if "water_name" in s else None,
        "dist_m": np.where(np.isfinite(s["water_m"]), s["water_m"].round(0), np.nan),
        "minutes": s["duration_min"].round(0),
        "suspicion": s["suspicion"],
    }, index=s.index)


def _attributed(s: pd.DataFrame, how: str) -> _Rows:
    """One row per (stop, enterprise) it counts for: ``load`` → the manifest's parties when loaded,
    else the owner; ``visit`` → the producer visited and the owner."""
    if how == "load":
        cols = [s["m_producer_id"].where(s["loaded"]), s["m_transporter_id"].where(s["loaded"]),
                s["m_receiver_id"].where(s["loaded"]), s["owner_id"].where(~s["loaded"])]
    else:
        cols = [s["at_enterprise_id"], s["owner_id"]]
    # as one concatenation of the columns, missing ids and repeated (stop, entity) pairs dropped (the
    # first kept, labelled by its position), in arrays: no frame of object ids made and converted per column
    stop = np.tile(s.index.to_numpy(), len(cols))
    entity = np.concatenate([c.to_numpy(object) for c in cols])
    at = np.flatnonzero(~pd.isna(entity))
    code, uniques = pd.factorize(entity[at])
    pair = pd.factorize(stop[at] * (code.max() + 1 if code.size else 1) + code)[0]
    first = np.sort(np.unique(pair, return_index=True)[1])
    return _Rows(stop[at[first]], code[first], np.asarray(uniques, dtype=object))


class _Rows:
    """(stop, entity) rows: the stops' labels, each row's entity as a code into ``ids`` (the ids
    as text, each once), in arrays: no column of text per row made, grouped or factorised."""

    def __init__(self, stop: np.ndarray, code: np.ndarray, ids: np.ndarray):
        self.stop, self.code, self.ids = stop, code, ids

    def subset(self, keep: np.ndarray) -> _Rows:
        return _Rows(self.stop[keep], self.code[keep], self.ids)


class _Columns(dict):
    """Feature columns collected for one frame (built at once: no fragmented inserts)."""

    def __init__(self, index: pd.Index):
        super().__init__()
        self.index = index

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(dict(self), index=self.index)


def _evidence_of(ev: pd.DataFrame, stops: np.ndarray, fields: list[str]) -> pd.DataFrame:
    """``fields`` of the stops ``stops`` (labels of ``ev``), ``where`` written for these alone."""
    picked = ev.loc[stops]
    if "where" in fields:
        picked = picked.assign(where=[f"{a:.5f},{b:.5f}" for a, b in zip(picked["lat"].to_numpy(float),
                                                                        picked["lon"].to_numpy(float), strict=True)])
    return picked[fields]


def _put_count(out: _Columns, name: str, rows: _Rows, ev: pd.DataFrame, fields: list[str],
               positions: np.ndarray | None = None) -> None:
    """``rows`` (stop, entity): count per entity of ``out.index`` and the most suspicious stop's
    evidence (the ranking reads two columns; the evidence is taken for the stops picked).
    ``positions``: those of ``rows.ids`` in ``out.index`` (-1: not there), when already known."""
    positions = out.index.get_indexer(rows.ids) if positions is None else positions
    at_out = np.where(rows.code >= 0, positions[rows.code], -1)  # code -1: a missing id, counted nowhere
    counts = np.bincount(at_out[at_out >= 0], minlength=len(out.index)).astype("float64")
    out[name] = pd.Series(counts, index=out.index)  # an entity seen nowhere counts 0
    # each entity's most suspicious stop, the latest of equals (the first of a stable sort by both)
    at = ev.index.get_indexer(rows.stop)  # -1: a stop without evidence, ranked last
    suspicion = np.append(ev["suspicion"].to_numpy(dtype="float64"), np.nan)[at]
    when = np.append(ev["when"].to_numpy(dtype="datetime64[ns]"), np.datetime64("NaT", "ns"))[at]
    top = worst_rows(rows.code, suspicion, when)
    if not len(top):
        for f in fields:
            out[f"{name}@{f}"] = pd.Series(None, index=out.index, dtype=object)
        return
    picked = _evidence_of(ev, rows.stop[top], fields)
    picked.index = pd.Index(rows.ids[rows.code[top]], name="entity_id")
    for f in fields:
        out[f"{name}@{f}"] = picked[f].reindex(out.index)


def _stop_masks(s: pd.DataFrame) -> dict[str, tuple[pd.Series, str]]:
    off = ~s["registered"]
    return {
        "night_stops_near_water": (off & s["night"] & (s["water_m"] <= NEAR_WATER_M), "load"),
        "offsite_stops_loaded": (off & s["loaded"], "load"),
        "offbook_pickups": (s["offbook"], "visit"),
        "offsite_stops_near_karst": (off & (s["karst_m"] <= NEAR_KARST_M), "load"),
        "unpermitted_vehicle_visits": (s["unpermitted_visit"], "visit"),
        "stops_in_protected_area": (off & (s["protected_m"] <= NEAR_PROTECTED_M), "load"),
    }


def enterprise_features(s: pd.DataFrame, trips: pd.DataFrame, ids: pd.Index, as_of,
                        ev: pd.DataFrame | None = None) -> pd.DataFrame:
    """Trajectory features by enterprise_id (every id in ``ids``; counts 0 where nothing was seen,
    ratios NaN where there is no trip). ``ev`` is ``_stop_evidence(s)`` when already made."""
    out = _Columns(ids)
    ev = _stop_evidence(s) if ev is None else ev
    attributed = {how: _attributed(s, how) for how in ("load", "visit")}
    positions = {how: ids.get_indexer(rows.ids) for how, rows in attributed.items()}  # each entity looked up once
    for stem, (mask, how) in _stop_masks(s).items():
        for w in ENTERPRISE_STOP_FEATURES[stem][0]:
            inw = mask & (s["start"] >= as_of_window_start(as_of, w))
            rows = attributed[how].subset(np.isin(attributed[how].stop, s.index[inw.to_numpy(bool)]))
            _put_count(out, f"{stem}_{w}d", rows, ev, STOP_FIELDS, positions[how])
    t = _trip_columns(trips, TRIP_FEATURES)
    parties = pd.concat([t.assign(entity_id=t[c].astype("str")) for c in ("producer_id", "transporter_id", "receiver_id")])
    parties = parties.drop_duplicates(["manifest_id", "entity_id"])
    _trip_features(out, parties, as_of, TRIP_FEATURES)
    return out.frame()


def vehicle_features(s: pd.DataFrame, trips: pd.DataFrame, ids: pd.Index, as_of,
                     ev: pd.DataFrame | None = None) -> pd.DataFrame:
    """The same evidence by vehicle_id, with the prefix ``vehicle_``."""
    out = _Columns(ids)
    ev = _stop_evidence(s) if ev is None else ev
    code, vids = pd.factorize(s["vehicle_id"].astype("str").to_numpy(object))
    rows_all = _Rows(s.index.to_numpy(), code, np.asarray(vids, dtype=object))
    positions = ids.get_indexer(rows_all.ids)
    for stem, (mask, _how) in _stop_masks(s).items():
        for w in ENTERPRISE_STOP_FEATURES[stem][0]:
            inw = mask & (s["start"] >= as_of_window_start(as_of, w))
            _put_count(out, f"vehicle_{stem}_{w}d", rows_all.subset(inw.to_numpy(bool)), ev, STOP_FIELDS, positions)
    off = ~s["registered"]
    out["vehicle_offsite_stops_365d"] = off.groupby(s["vehicle_id"]).sum().reindex(ids).fillna(0.0).astype(float)
    share = (s["night"] & off).groupby(s["vehicle_id"]).sum() / off.groupby(s["vehicle_id"]).sum()
    out["vehicle_night_offsite_stop_share_365d"] = share.where(np.isfinite(share)).reindex(ids)
    stems = {k: TRIP_FEATURES[k] for k in VEHICLE_TRIP_FEATURES}
    t = _trip_columns(trips, stems)
    _trip_features(out, t.assign(entity_id=t["vehicle_id"].astype("str")), as_of, stems, prefix="vehicle_")
    return out.frame()


def as_of_window_start(as_of, days: int) -> pd.Timestamp:
    return as_of_day(as_of) + pd.Timedelta(days=1) - pd.Timedelta(days=days)


TRIP_SPEC = {  # stem: (column, aggregate, evidence time, actual, usual)
    "manifest_gps_gap_max_h": ("gps_gap_max_h", "max", "gps_gap_at", None, None),
    "manifest_gps_gaps_over_10min": ("gps_gaps_over_10min", "sum", "gps_gap_at", None, None),
    "trip_duration_excess_ratio": ("duration_excess_ratio", "max", "departed_at", "duration_h", "route_duration_median_h"),
    "detour_excess_ratio": ("detour_excess_ratio", "max", "departed_at", "detour_ratio", "route_detour_median"),
    "receipts_without_gps_visit": ("no_visit", "sum", "departed_at", None, None),
    "manifests_without_gps": ("no_gps", "sum", "departed_at", None, None),
}


def _trip_columns(trips: pd.DataFrame, stems) -> pd.DataFrame:
    """The columns of ``trips`` that ``_trip_features`` reads for ``stems`` (its windows copy rows
    many times: not the forty columns of the trip table)."""
    need = {"departed_at", "receipt_without_visit", "has_gps", "producer_id", "transporter_id", "receiver_id", *TRIP_FIELDS}
    need |= {c for stem in stems for c in (TRIP_SPEC[stem][0], *TRIP_SPEC[stem][2:]) if c is not None}
    return trips[[c for c in trips.columns if c in need]]


def _trip_features(out: _Columns, rows: pd.DataFrame, as_of, stems, prefix: str = "") -> None:
    """Trip features by ``entity_id`` over manifests departed in each window, with the evidence of
    the worst trip: its manifest, vehicle and ``when`` (the longest silence's start for gap
    features, else the departure), and ``actual`` / ``usual`` for the ratios."""
    spec = TRIP_SPEC
    rows = rows.assign(no_visit=rows["receipt_without_visit"].astype(float), no_gps=(~rows["has_gps"]).astype(float))
    for stem in stems:
        col, how, when, actual, usual = spec[stem]
        fields = TRIP_FIELDS + (["actual", "usual"] if actual else [])
        # each entity's worst trip in each window (``features.grouped.worst_rows``: the first a stable
        # sort by value then departure, both descending, gives)
        ranked = rows.loc[rows[col].notna() & (rows[col] > 0), ["entity_id", "departed_at", col, "manifest_id", "vehicle_id",
                                                                when, *([actual, usual] if actual else [])]]
        ranked = ranked.loc[:, ~ranked.columns.duplicated()]
        ranked = ranked.assign(when=ranked[when], **({"actual": ranked[actual], "usual": ranked[usual]} if actual else {}))
        value, departed = ranked[col].to_numpy(dtype="float64"), ranked["departed_at"].to_numpy()
        entity = pd.factorize(ranked["entity_id"])[0]
        for w in TRIP_WINDOWS[stem]:
            name = f"{prefix}{stem}_{w}d"
            start = as_of_window_start(as_of, w)
            r = rows.loc[rows["departed_at"] >= start, ["entity_id", col]]  # the two columns read: not every text column taken
            vals = getattr(r.groupby("entity_id")[col], how)() if len(r) else pd.Series(dtype=float)
            vals = vals.reindex(out.index).astype("float64")
            out[name] = vals.fillna(0.0) if how == "sum" else vals
            top = ranked.iloc[worst_rows(entity, value, departed, departed >= start.to_datetime64())].set_index("entity_id")
            for f in fields:
                out[f"{name}@{f}"] = top[f].reindex(out.index) if len(top) else pd.Series(None, index=out.index, dtype=object)
