"""Lookups behind the detail pages, built once per object served instead of a scan per request.

A detail page reads a few rows of big tables: one enterprise's manifests, stops and power months,
one vehicle's fixes (tens of millions at city scale), the stops near a point. Scanning a whole
column for each took seconds a page. Here each table is grouped once:

- ``FeatureLookup`` (per feature set): row positions of ``manifest_checks`` by party and by vehicle,
  of ``stops`` by vehicle and by the enterprise they concern, and the off-site stops ordered by
  latitude for the stops near a point.
- ``SnapshotLookup`` (per snapshot): each vehicle's block of the fixes (the loader sorts them by
  vehicle and time), row positions of the power and ledger tables by enterprise, an R-tree of the
  map's places.

Every lookup answers the very rows, in the very order, that the boolean mask it replaces selected
(positions are kept ascending), so that what the pages show is unchanged. Built when the service
takes a snapshot or a feature set (``Runtime.use_snapshot``, ``Runtime.serve_features``), else on
first use; kept per object, so a request holding the old object still gets the old object's lookup.
"""

from __future__ import annotations

import math
import threading
import weakref

import numpy as np
import pandas as pd
import shapely

from features.geo import EARTH_RADIUS_M, haversine_m

EMPTY = np.zeros(0, dtype=np.int64)


def positions_by(values) -> dict[object, np.ndarray]:
    """Value -> the ascending row positions holding it (missing values: none)."""
    codes, uniques = pd.factorize(pd.Series(values), use_na_sentinel=True)
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    starts = np.searchsorted(sorted_codes, np.arange(len(uniques)), side="left")
    ends = np.searchsorted(sorted_codes, np.arange(len(uniques)), side="right")
    return {u: order[a:b] for u, a, b in zip(uniques, starts, ends, strict=True)}


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    return frame[name] if name in frame else pd.Series(None, index=frame.index, dtype=object)


def _flag(frame: pd.DataFrame, name: str) -> np.ndarray:
    return _column(frame, name).fillna(False).astype(bool).to_numpy()


def top_rows(frame: pd.DataFrame, rows: np.ndarray, column: str, limit: int) -> np.ndarray:
    """The rows of ``frame.iloc[rows].sort_values(column, ascending=False).head(limit)``, in that
    order, found by sorting that one column (the same sort on the same values: the same order, ties
    included) and not the whole rows; the first ``limit`` rows if there is no such column."""
    if column not in frame:
        return rows[:limit]
    values = frame[column].iloc[rows].reset_index(drop=True).to_frame()
    return rows[values.sort_values(column, ascending=False).head(limit).index.to_numpy()]


class LatitudeBand:
    """Points ordered by latitude: the rows within a distance of a point, by exact haversine on the
    band of latitudes that distance allows (a great-circle distance is at least the earth's radius
    times the difference in latitude)."""

    def __init__(self, lat: np.ndarray, lon: np.ndarray, rows: np.ndarray) -> None:
        ok = np.isfinite(lat)
        order = np.argsort(lat[ok], kind="stable")
        self.rows = rows[ok][order]
        self.lat, self.lon = lat[ok][order], lon[ok][order]

    def within(self, lat: float, lon: float, radius_m: float) -> tuple[np.ndarray, np.ndarray]:
        """(rows, distances in metres), rows ascending, of the points within ``radius_m``."""
        dlat = math.degrees(radius_m / EARTH_RADIUS_M) * (1 + 1e-9) + 1e-9
        a, b = np.searchsorted(self.lat, [lat - dlat, lat + dlat], side="left")[0], np.searchsorted(self.lat, lat + dlat, side="right")
        rows, plat, plon = self.rows[a:b], self.lat[a:b], self.lon[a:b]
        order = np.argsort(rows, kind="stable")
        rows, plat, plon = rows[order], plat[order], plon[order]
        d = haversine_m(lat, lon, plat, plon)
        keep = d <= radius_m
        return rows[keep], d[keep]


class FeatureLookup:
    """Row positions of a feature set's manifests and stops (the driving events': ``chain.VehicleIndex``)."""

    def __init__(self, fs) -> None:
        m = fs.manifest_checks
        self.manifests_by_party = {c: positions_by(_column(m, c)) for c in ("producer_id", "receiver_id", "transporter_id")}
        self.manifests_by_vehicle = positions_by(_column(m, "vehicle_id").astype(str))
        self.manifest_departed = _column(m, "departed_at").to_numpy()
        self.manifest_ids = _column(m, "manifest_id").to_numpy()
        s = fs.stops if fs.stops is not None else pd.DataFrame()
        self.stops_by_vehicle = positions_by(_column(s, "vehicle_id").astype(str)) if len(s) else {}
        self.stops_by = {c: positions_by(_column(s, c)) for c in ("m_producer_id", "m_receiver_id", "at_enterprise_id")} if len(s) else {}
        if len(s):
            self.offsite = ~_flag(s, "registered")
            self.flagged_visit = _flag(s, "offbook") | _flag(s, "unpermitted_visit")
            off = np.flatnonzero(self.offsite) if "registered" in s else np.arange(len(s))
            self.offsite_band = LatitudeBand(s["lat"].to_numpy(float)[off], s["lon"].to_numpy(float)[off], off)
            self.offsite_rows = off

    def manifests_of(self, enterprise_id: str) -> np.ndarray:
        """Rows of ``manifest_checks`` naming the enterprise as producer, receiver or carrier."""
        parts = [g.get(enterprise_id, EMPTY) for g in self.manifests_by_party.values()]
        return np.unique(np.concatenate(parts)) if parts else EMPTY

    def manifests_of_vehicle(self, vehicle_id: str) -> np.ndarray:
        return self.manifests_by_vehicle.get(str(vehicle_id), EMPTY)

    def stops_of(self, enterprise_id: str) -> np.ndarray:
        """Rows of ``stops``: off-site while carrying its waste, or off-book/unpermitted at it."""
        if not self.stops_by:
            return EMPTY
        carrying = np.union1d(self.stops_by["m_producer_id"].get(enterprise_id, EMPTY),
                              self.stops_by["m_receiver_id"].get(enterprise_id, EMPTY))
        at_it = self.stops_by["at_enterprise_id"].get(enterprise_id, EMPTY)
        return np.union1d(carrying[self.offsite[carrying]], at_it[self.flagged_visit[at_it]])

    def stops_of_vehicle(self, vehicle_id: str) -> np.ndarray:
        return self.stops_by_vehicle.get(str(vehicle_id), EMPTY)

    def offsite_near(self, lat: float, lon: float, radius_m: float) -> tuple[np.ndarray, np.ndarray]:
        """(rows of ``stops``, metres) of the off-site stops within ``radius_m``, rows ascending."""
        if not self.stops_by:
            return EMPTY, np.zeros(0)
        return self.offsite_band.within(float(lat), float(lon), radius_m)


class SnapshotLookup:
    """Each vehicle's fixes, each enterprise's power and ledger rows, the places' R-tree."""

    def __init__(self, snapshot) -> None:
        t = snapshot.trajectories
        self._blocks: dict[str, tuple[int, int]] = {}
        self._order = None
        if isinstance(t, pd.DataFrame) and len(t):
            vid = t["vehicle_id"]
            vid = vid if isinstance(vid.dtype, pd.CategoricalDtype) else vid.astype("category")
            codes = vid.cat.codes.to_numpy()
            ts = t["ts"].to_numpy()
            if not ((codes[1:] > codes[:-1]) | ((codes[1:] == codes[:-1]) & (ts[1:] >= ts[:-1]))).all():
                self._order = np.lexsort((ts, codes))  # not sorted as the loader leaves them: an order
                codes, ts = codes[self._order], ts[self._order]
            self._ts = ts
            n = len(vid.cat.categories)
            starts = np.searchsorted(codes, np.arange(n), side="left")
            ends = np.searchsorted(codes, np.arange(n), side="right")
            self._blocks = {str(c): (int(a), int(b)) for c, a, b in zip(vid.cat.categories, starts, ends, strict=True)}
        self.electricity_of = positions_by(snapshot.electricity["enterprise_id"])
        self.ledgers_of = positions_by(snapshot.ledgers["enterprise_id"])
        self.places = snapshot.places
        self._places_tree = shapely.STRtree([p.geometry for p in snapshot.places]) if snapshot.places else None

    def fixes_between(self, fixes: pd.DataFrame, vehicle_id: str, start, end) -> pd.DataFrame:
        """The rows of ``fixes`` (the snapshot's trajectories) of the vehicle with ``start`` <= ts <= ``end``."""
        a, b = self._blocks.get(str(vehicle_id), (0, 0))
        if b <= a:
            return fixes.iloc[0:0]
        ts = self._ts[a:b]
        lo = a + int(np.searchsorted(ts, np.datetime64(pd.Timestamp(start)), side="left"))
        hi = a + int(np.searchsorted(ts, np.datetime64(pd.Timestamp(end)), side="right"))
        if self._order is None:
            return fixes.iloc[lo:hi]
        return fixes.iloc[np.sort(self._order[lo:hi])]

    def places_meeting(self, area) -> list:
        """The places whose geometry intersects ``area``, in the places' order."""
        if self._places_tree is None:
            return []
        return [self.places[i] for i in np.sort(self._places_tree.query(area, predicate="intersects"))]


# ---- one lookup per object served -------------------------------------------------------------------

_lock = threading.Lock()
_built: dict[tuple[str, int], tuple[weakref.ref, object]] = {}  # (kind, id) -> (the object, its lookup)


def _cached(kind: str, obj, make):
    """``make(obj)``, once per object. The lookup lives as long as the object (it holds no reference
    to it): an old feature set or snapshot is freed when the service lets it go."""
    key = (kind, id(obj))
    with _lock:
        hit = _built.get(key)
        if hit is not None and hit[0]() is obj:
            return hit[1]
    value = make(obj)
    with _lock:
        hit = _built.get(key)
        if hit is not None and hit[0]() is obj:  # built meanwhile by another request
            return hit[1]
        _built[key] = (weakref.ref(obj), value)
        weakref.finalize(obj, _forget, key, _built[key][0])
    return value


def _forget(key: tuple[str, int], ref: weakref.ref) -> None:
    with _lock:
        if key in _built and _built[key][0] is ref:
            del _built[key]


def for_features(fs) -> FeatureLookup:
    return _cached("features", fs, FeatureLookup)


def for_snapshot(snapshot) -> SnapshotLookup:
    return _cached("snapshot", snapshot, SnapshotLookup)
