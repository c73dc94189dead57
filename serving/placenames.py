"""A point described by the named places around it (``places.geojson``): "距黄村 1.2 公里，距漓江 80 米".

An officer finds a stop or a candidate site by the nearest village or town and the nearest river,
reservoir or road, not by its coordinates. Distances are metres in a local projection (within 1% of
the geodesic over a city), a point inside an area is at 0 m."""

from __future__ import annotations

import threading

import numpy as np
import shapely

from features.geo import LocalProjection

SETTLEMENTS = ("village", "town")
LANDMARKS = ("river", "reservoir", "road", "karst")
MAX_SETTLEMENT_M = 8000.0  # farther than this a village says nothing about where the point is
MAX_LANDMARK_M = 1500.0
KIND_ZH = {"village": "村", "town": "镇", "river": "河流", "reservoir": "水库", "road": "道路", "karst": "岩溶"}


def distance_text(metres: float, lang: str = "zh") -> str:
    """80 米 / 1.2 公里 (under a kilometre in whole metres, above in tenths of kilometres)."""
    if metres < 1000:
        return f"{metres:.0f} 米" if lang == "zh" else f"{metres:.0f} m"
    return f"{metres / 1000:.1f} 公里" if lang == "zh" else f"{metres / 1000:.1f} km"


class PlaceNamer:
    """The nearest named settlement and landmark of a point."""

    def __init__(self, places: list | None, projection: LocalProjection) -> None:
        self.projection = projection
        self._trees: dict[tuple[str, ...], tuple[shapely.STRtree, list]] = {}
        for group in (SETTLEMENTS, LANDMARKS):
            items = [p for p in places or [] if p.kind in group and (p.name or "").strip()]
            if items:
                self._trees[group] = (shapely.STRtree([projection.geometry(p.geometry) for p in items]), items)

    def _nearest(self, group: tuple[str, ...], x: float, y: float, max_m: float) -> tuple[object, float] | None:
        if group not in self._trees:
            return None
        tree, items = self._trees[group]
        pt = shapely.Point(x, y)
        idx = tree.query_nearest(pt, max_distance=max_m, return_distance=True, all_matches=False)
        if not len(idx[0]):
            return None
        return items[int(idx[0][0])], float(idx[1][0])

    def describe(self, lat, lon, lang: str = "zh") -> dict | None:
        """``{"text", "places": [{"name", "kind", "distance_m"}]}``, or None if nothing named is near."""
        if lat is None or lon is None or not np.isfinite(float(lat)) or not np.isfinite(float(lon)):
            return None
        x, y = self.projection.xy(float(lat), float(lon))
        found = [hit for group, cap in ((SETTLEMENTS, MAX_SETTLEMENT_M), (LANDMARKS, MAX_LANDMARK_M))
                 if (hit := self._nearest(group, float(x), float(y), cap)) is not None]
        return self._text(found, lang)

    def describe_many(self, points: list[tuple], lang: str = "zh") -> list[dict | None]:
        """``describe`` of each (lat, lon), one query of each R-tree for them all (a page's stops)."""
        ok = [i for i, (lat, lon) in enumerate(points)
              if lat is not None and lon is not None and np.isfinite(float(lat)) and np.isfinite(float(lon))]
        found: list[list] = [[] for _ in points]
        if ok:
            x, y = self.projection.xy(np.array([float(points[i][0]) for i in ok]), np.array([float(points[i][1]) for i in ok]))
            geoms = shapely.points(np.asarray(x, float), np.asarray(y, float))
            for group, cap in ((SETTLEMENTS, MAX_SETTLEMENT_M), (LANDMARKS, MAX_LANDMARK_M)):
                if group not in self._trees:
                    continue
                tree, items = self._trees[group]
                (which, idx), dist = tree.query_nearest(geoms, max_distance=cap, return_distance=True, all_matches=False)
                for w, i, d in zip(which, idx, dist, strict=True):
                    found[ok[int(w)]].append((items[int(i)], float(d)))
        return [self._text(f, lang) for f in found]

    @staticmethod
    def _text(found: list, lang: str) -> dict | None:
        if not found:
            return None
        if lang == "zh":
            text = "，".join(f"距{p.name} {distance_text(d)}" if d > 0 else f"在{p.name}内" for p, d in found)
        else:
            text = ", ".join(f"{distance_text(d, 'en')} from {p.name}" if d > 0 else f"in {p.name}" for p, d in found)
        return {"text": text, "places": [{"name": p.name, "kind": p.kind, "distance_m": round(d, 0)} for p, d in found]}


_lock = threading.Lock()
_namers: dict[int, tuple[object, PlaceNamer]] = {}


def namer_for(snapshot) -> PlaceNamer:
    """The snapshot's namer, built once per snapshot object."""
    key = id(snapshot)
    with _lock:
        hit = _namers.get(key)
        if hit is not None and hit[0] is snapshot:
            return hit[1]
    e = snapshot.enterprises
    namer = PlaceNamer(snapshot.places, LocalProjection.around(e["lat"].to_numpy(), e["lon"].to_numpy()))
    with _lock:
        if len(_namers) > 4:
            _namers.clear()
        _namers[key] = (snapshot, namer)
    return namer
