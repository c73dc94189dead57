"""Where the driving rules change: restricted zones (禁限行区域) with their hours, and roads with
their dangerous-goods speed limits, from ``places.geojson`` (DATA_CONTRACT.md §1).

Lookups are vectorised over arrays of fixes (WGS84 degrees); geometry is compared in the
snapshot's local metric projection (``features.geo.LocalProjection``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from features.driving_kernel import nearest_segment, segment_cells
from features.geo import LocalProjection
from features.places import Hours, Place


@dataclass(frozen=True)
class Zone:
    name: str
    hours: Hours | None  # local [start, end) minute ranges; None: always
    geometry: shapely.Geometry  # projected metres, prepared
    bounds: tuple[float, float, float, float]

    def hours_text(self) -> str:
        if self.hours is None:
            return "全天 all day"
        return ",".join(f"{a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d}" for a, b in self.hours)


class DrivingPlaces:
    """The restricted zones and roads of a snapshot, ready for lookups by fix position."""

    def __init__(self, places: list[Place], projection: LocalProjection):
        self.projection = projection
        self.zones: list[Zone] = []
        for p in places:
            if p.kind == "restricted":
                g = projection.geometry(p.geometry)
                shapely.prepare(g)
                self.zones.append(Zone(p.name, p.hours, g, tuple(g.bounds)))
        self._zone_cells = np.unique(np.concatenate([_bbox_cells(z.bounds) for z in self.zones])) if self.zones else np.empty(0, np.int64)
        roads = [p for p in places if p.kind == "road"]
        self.road_names = [p.name for p in roads]
        self.road_limits = np.array([np.nan if p.speed_limit_kmh is None else p.speed_limit_kmh for p in roads], dtype="float64")
        # the roads' straight segments, in projected metres, with the road each belongs to
        parts = [(k, np.asarray(line.coords)) for k, p in enumerate(roads)
                 for line in shapely.get_parts(projection.geometry(p.geometry))]
        self._seg_road = np.concatenate([np.full(len(c) - 1, k, dtype=np.int64) for k, c in parts]) if parts else np.empty(0, np.int64)
        xy0 = np.concatenate([c[:-1] for _, c in parts]) if parts else np.empty((0, 2))
        xy1 = np.concatenate([c[1:] for _, c in parts]) if parts else np.empty((0, 2))
        self._seg = (xy0[:, 0].copy(), xy0[:, 1].copy(), xy1[:, 0].copy(), xy1[:, 1].copy())
        self._grids: dict[float, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    @property
    def lowest_limit_kmh(self) -> float:
        """The lowest road limit (inf without any): fixes slower than this need no road lookup."""
        known = self.road_limits[np.isfinite(self.road_limits)]
        return float(known.min()) if known.size else np.inf

    def zone_of(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        """Index of the first restricted zone containing each point, -1 outside every zone."""
        out = np.full(np.asarray(lat).size, -1, dtype=np.int32)
        if not self.zones or out.size == 0:
            return out
        x, y = self.projection.xy(lat, lon)
        keys, zc = _cells(x, y), self._zone_cells  # first the zones' grid cells: cheap
        near = np.flatnonzero(zc[np.minimum(np.searchsorted(zc, keys), zc.size - 1)] == keys)
        x, y = x[near], y[near]
        for k, z in enumerate(self.zones):
            x0, y0, x1, y1 = z.bounds
            cand = near[(out[near] < 0) & (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)]
            xc, yc = self.projection.xy(np.asarray(lat)[cand], np.asarray(lon)[cand])
            if cand.size:
                inside = shapely.intersects_xy(z.geometry, xc, yc)  # the boundary counts as inside
                out[cand[inside]] = k
        return out

    def zone_active(self, zone: np.ndarray, sec_of_day: np.ndarray) -> np.ndarray:
        """Whether each fix's zone (``zone_of``) is restricted at its local second of the day."""
        active = np.zeros(zone.size, dtype=bool)
        for k, z in enumerate(self.zones):
            sel = zone == k
            if not sel.any():
                continue
            if z.hours is None:
                active[sel] = True
                continue
            s = sec_of_day[sel]
            hit = np.zeros(s.size, dtype=bool)
            for a, b in z.hours:
                a, b = a * 60, b * 60
                hit |= ((s >= a) & (s < b)) if a < b else ((s >= a) | (s < b))
            active[sel] = hit
        return active

    def road_limit(self, lat: np.ndarray, lon: np.ndarray, tolerance_m: float) -> tuple[np.ndarray, np.ndarray]:
        """For each point, the speed limit (km/h) of the nearest road within ``tolerance_m`` and that
        road's index; NaN / -1 where no road is that close, NaN where the nearest states no limit.

        Exact distances to the roads' segments, found through a grid of ``tolerance_m`` cells (a
        compiled scan: tens of millions of fixes a minute, where a tree of whole roads does a few)."""
        n = np.asarray(lat).size
        limit, road = np.full(n, np.nan), np.full(n, -1, dtype=np.int64)
        if self._seg_road.size == 0 or n == 0:
            return limit, road
        size = max(float(tolerance_m), 1.0)
        if size not in self._grids:
            keys, seg = segment_cells(*self._seg, size, size)
            order = np.argsort(keys, kind="stable")
            keys, seg = keys[order], seg[order]
            first = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
            self._grids[size] = (keys[first], np.append(first, keys.size), seg)
        cells, starts, seg = self._grids[size]
        x, y = self.projection.xy(lat, lon)
        best, _ = nearest_segment(np.ascontiguousarray(x), np.ascontiguousarray(y), cells, starts, seg, *self._seg, size, size)
        hit = best >= 0
        road[hit] = self._seg_road[best[hit]]
        limit[hit] = self.road_limits[road[hit]]
        return limit, road


ZONE_CELL_M = 1000.0


def _cells(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (np.floor(x / ZONE_CELL_M).astype(np.int64) << 32) + np.floor(y / ZONE_CELL_M).astype(np.int64)


def _bbox_cells(bounds: tuple[float, float, float, float]) -> np.ndarray:
    x0, y0, x1, y1 = (int(np.floor(v / ZONE_CELL_M)) for v in bounds)
    gx, gy = np.meshgrid(np.arange(x0, x1 + 1, dtype=np.int64), np.arange(y0, y1 + 1, dtype=np.int64))
    return ((gx << 32) + gy).ravel()
