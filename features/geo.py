"""Distances on the ground: haversine, a local metric projection, and nearest places by kind.

Everything here is vectorised over NumPy arrays of lat/lon (WGS84 degrees); distances in metres.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

import numpy as np
import pandas as pd
import shapely

from features.places import Place

EARTH_RADIUS_M = 6_371_008.8


def haversine_m(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance in metres between arrays (or scalars) of points."""
    lat1, lon1, lat2, lon2 = (np.radians(np.asarray(a, dtype="float64")) for a in (lat1, lon1, lat2, lon2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


class LocalProjection:
    """Equirectangular projection around (lat0, lon0) in metres: within a province (a few hundred
    km) distances are within about 1% of the geodesic, which is enough to rank and threshold."""

    def __init__(self, lat0: float, lon0: float):
        self.lat0, self.lon0 = float(lat0), float(lon0)
        self.kx = np.radians(1.0) * EARTH_RADIUS_M * np.cos(np.radians(self.lat0))
        self.ky = np.radians(1.0) * EARTH_RADIUS_M

    def xy(self, lat, lon) -> tuple[np.ndarray, np.ndarray]:
        lat = np.asarray(lat, dtype="float64")
        lon = np.asarray(lon, dtype="float64")
        return (lon - self.lon0) * self.kx, (lat - self.lat0) * self.ky

    def latlon(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(y) / self.ky + self.lat0, np.asarray(x) / self.kx + self.lon0

    def geometry(self, geom: shapely.Geometry) -> shapely.Geometry:
        """A lon/lat shapely geometry in projected metres."""
        return shapely.transform(geom, lambda c: np.column_stack(((c[:, 0] - self.lon0) * self.kx, (c[:, 1] - self.lat0) * self.ky)))

    @classmethod
    def around(cls, lat: Iterable[float], lon: Iterable[float]) -> LocalProjection:
        lat, lon = np.asarray(list(lat) if not isinstance(lat, np.ndarray) else lat), np.asarray(list(lon) if not isinstance(lon, np.ndarray) else lon)
        if lat.size == 0:
            return cls(25.27, 110.29)  # Guilin
        return cls(float(np.nanmedian(lat)), float(np.nanmedian(lon)))


_KEY_SCALE = 1e6  # a point key resolves 1e-6 degrees (about 0.1 m)


def _point_keys(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    return np.round((lat + 90.0) * _KEY_SCALE).astype(np.int64) * 400_000_000 + np.round((lon + 180.0) * _KEY_SCALE).astype(np.int64)


def _point_latlon(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return keys // 400_000_000 / _KEY_SCALE - 90.0, keys % 400_000_000 / _KEY_SCALE - 180.0


class PlaceIndex:
    """Nearest distance (metres) from points to the places of each kind (river, reservoir, karst, ...).

    A point inside a polygon (a reservoir, a protected area) is at distance 0.
    """

    def __init__(self, places: list[Place], projection: LocalProjection):
        self.projection = projection
        # answers by point, so that building features at many as-of dates measures each stop once
        self._memo: dict[str, tuple[pd.Index, np.ndarray, np.ndarray]] = {}  # kind -> (point keys, distances, names)
        self._lock = threading.Lock()  # guards the memo's growth (the service searches from several threads)
        self._last_points: tuple[np.ndarray, np.ndarray] | None = None  # see _points_of
        self._trees: dict[str, tuple[shapely.STRtree, list[Place]]] = {}
        # lines (rivers, roads) also as their single segments, made at a kind's first search: the nearest
        # of a few long lines is found segment by segment inside GEOS for every candidate line; a tree
        # of segments finds it directly (None: the kind is not all lines)
        self._segments: dict[str, tuple[shapely.STRtree, np.ndarray] | None] = {}
        by_kind: dict[str, list[Place]] = {}
        for p in places:
            by_kind.setdefault(p.kind, []).append(p)
        for kind, items in by_kind.items():
            geoms = [projection.geometry(p.geometry) for p in items]
            self._trees[kind] = (shapely.STRtree(geoms), items)

    def __getstate__(self) -> dict:  # sent to a Dask worker: without the lock (not picklable) and the last points
        return {k: v for k, v in self.__dict__.items() if k not in ("_lock", "_last_points")}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock, self._last_points = threading.Lock(), None

    @property
    def kinds(self) -> list[str]:
        return sorted(self._trees)

    def distance(self, kind: str, lat, lon) -> np.ndarray:
        """Distance in metres to the nearest place of ``kind``; +inf where there is none."""
        return self.nearest(kind, lat, lon)[0]

    def nearest(self, kind: str, lat, lon) -> tuple[np.ndarray, list[str]]:
        """Distance in metres and name of the nearest place of ``kind`` for each point (memoised by point)."""
        lat = np.atleast_1d(np.asarray(lat, dtype="float64"))
        lon = np.atleast_1d(np.asarray(lon, dtype="float64"))
        if kind not in self._trees or lat.size == 0:
            return np.full(lat.shape, np.inf), [""] * lat.size
        keys = _point_keys(lat, lon)
        memo = self._memo.get(kind)
        pos = memo[0].get_indexer(keys) if memo is not None else np.full(keys.shape, -1, dtype=np.intp)
        miss = pos < 0
        if miss.any():
            mk = np.unique(keys[miss])
            dist, names = self._query(kind, *_point_latlon(mk), points=self._points_of(mk))
            names = np.asarray(names, dtype=object)
            with self._lock:  # another thread may have added some of these keys meanwhile: each key once
                memo = self._memo.get(kind)
                if memo is None:
                    memo = (pd.Index(mk), dist, names)
                else:
                    new = memo[0].get_indexer(mk) < 0
                    memo = (memo[0].append(pd.Index(mk[new])), np.concatenate([memo[1], dist[new]]),
                            np.concatenate([memo[2], names[new]]))
                self._memo[kind] = memo  # readers without the lock see the old memo or the new one
            pos[miss] = memo[0].get_indexer(keys[miss])
        return memo[1][pos], memo[2][pos].tolist()

    def _points_of(self, keys: np.ndarray) -> np.ndarray:
        """Projected points of sorted point keys; the last keys' points are kept, since a stop's
        places are asked kind after kind for the same new points (a GEOS point each time otherwise)."""
        last = self._last_points
        if last is not None and np.array_equal(last[0], keys):
            return last[1]
        points = shapely.points(*self.projection.xy(*_point_latlon(keys)))
        self._last_points = (keys, points)  # one assignment: another thread sees one pair or the other
        return points

    def _query(self, kind: str, lat: np.ndarray, lon: np.ndarray,
               points: np.ndarray | None = None) -> tuple[np.ndarray, list[str]]:
        tree, items = self._trees[kind]
        names = [""] * lat.size
        out = np.full(lat.shape, np.inf)
        if points is None:
            points = shapely.points(*self.projection.xy(lat, lon))
        rest = np.arange(lat.size)
        if kind not in self._segments:  # a race only builds the same tree twice
            segments = _line_segments(list(tree.geometries))
            self._segments[kind] = None if segments is None else (shapely.STRtree(segments[0]), segments[1])
        if self._segments[kind] is not None:
            # the distance to a line is the least distance to its segments (the same GEOS computation,
            # so the same number); a point whose equally near segments belong to different places (where
            # two rivers meet) is asked of the tree of whole places, which decides such ties as before
            stree, owner = self._segments[kind]
            idx, dist = stree.query_nearest(points, return_distance=True, all_matches=True)
            own = owner[idx[1]]
            lo = np.full(lat.size, np.iinfo(np.int64).max)
            hi = np.full(lat.size, -1)
            np.minimum.at(lo, idx[0], own)
            np.maximum.at(hi, idx[0], own)
            out[idx[0]] = dist
            one = hi >= 0
            one &= lo == hi
            for i in np.flatnonzero(one):
                names[i] = items[lo[i]].name
            rest = np.flatnonzero(~one)
            out[rest] = np.inf
        if rest.size:
            idx, dist = tree.query_nearest(points[rest], return_distance=True, all_matches=False)
            out[rest[idx[0]]] = dist
            for i, j in zip(rest[idx[0]], idx[1], strict=True):
                names[i] = items[j].name
        return out, names

    def water_distance(self, lat, lon) -> np.ndarray:
        """Distance to the nearest river or reservoir."""
        return np.minimum(self.distance("river", lat, lon), self.distance("reservoir", lat, lon))


def _line_segments(geoms: list[shapely.Geometry]) -> tuple[np.ndarray, np.ndarray] | None:
    """Every two-point segment of ``geoms`` and the index of the geometry it belongs to, when every
    geometry is a line or lines (else None: polygons and points are kept whole)."""
    kinds = shapely.get_type_id(np.asarray(geoms, dtype=object)) if geoms else np.empty(0, int)
    if not len(kinds) or not np.isin(kinds, (1, 5)).all():  # LineString, MultiLineString
        return None
    parts, part_of = shapely.get_parts(np.asarray(geoms, dtype=object), return_index=True)
    coords, coord_of = shapely.get_coordinates(parts, return_index=True)
    same = coord_of[1:] == coord_of[:-1]  # consecutive vertices of one part
    starts = np.flatnonzero(same)
    if not starts.size:
        return None
    segments = shapely.linestrings(np.stack([coords[starts], coords[starts + 1]], axis=1))
    return segments, part_of[coord_of[starts]]

