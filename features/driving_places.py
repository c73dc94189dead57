"""Where the driving rules change: restricted zones (禁限行区域) with their hours, and roads with
their dangerous-goods speed limits, from ``places.geojson`` (DATA_CONTRACT.md §1).

Lookups are vectorised over arrays of fixes (WGS84 degrees); geometry is compared in the
snapshot's local metric projection (``features.geo.LocalProjection``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

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
        roads = [p for p in places if p.kind == "road"]
        self.road_names = [p.name for p in roads]
        self.road_limits = np.array([np.nan if p.speed_limit_kmh is None else p.speed_limit_kmh for p in roads], dtype="float64")
        self._roads = shapely.STRtree([projection.geometry(p.geometry) for p in roads]) if roads else None

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
        for k, z in enumerate(self.zones):
            x0, y0, x1, y1 = z.bounds
            cand = np.flatnonzero((out < 0) & (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1))
            if cand.size:
                inside = shapely.intersects_xy(z.geometry, x[cand], y[cand])  # the boundary counts as inside
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
        road's index; NaN / -1 where no road is that close or the nearest states no limit."""
        n = np.asarray(lat).size
        limit, road = np.full(n, np.nan), np.full(n, -1, dtype=np.int64)
        if self._roads is None or n == 0:
            return limit, road
        x, y = self.projection.xy(lat, lon)
        idx = self._roads.query_nearest(shapely.points(x, y), max_distance=tolerance_m, all_matches=False)
        road[idx[0]] = idx[1]
        limit[idx[0]] = self.road_limits[idx[1]]
        return limit, road
