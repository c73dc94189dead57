"""A gazetteer of villages and towns: the names callers use for where they saw something.

Tips name places ("在XX镇XX村附近", "XX村后面的河沟"); investigators, and the tip model, match
those names against the places layer. Each town of the road graph gets a few villages within
1-5 km; villages and towns go into ``places.geojson`` as Points of kind ``village`` and ``town``
(kinds the contract keeps: "another word, kept but unused" by the contract's own features).
Drawn from their own random stream, so the gazetteer never shifts any other part of the world.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from simulation.geography import Geography, to_latlon
from simulation.names import village

PER_TOWN = (3, 8)  # villages per town, [low, high)
RADIUS_M = (900.0, 5000.0)


@dataclass
class Gazetteer:
    names: list[str]
    kind: list[str]  # village or town
    county: list[str]
    town: list[str]  # the town a village belongs to (itself for a town)
    xy: np.ndarray  # (n, 2) local metres

    def __post_init__(self) -> None:
        self._villages = np.array([k == "village" for k in self.kind])
        self._tree = cKDTree(self.xy[self._villages]) if self._villages.any() else None
        self._vidx = np.flatnonzero(self._villages)

    def nearest_village(self, x: float, y: float) -> int:
        """Index of the village nearest to (x, y)."""
        if self._tree is None:
            return -1
        _, k = self._tree.query([x, y])
        return int(self._vidx[int(k)])

    def features(self) -> list[dict]:
        """GeoJSON Point features (kind village or town) for places.geojson."""
        lat, lon = to_latlon(self.xy[:, 0], self.xy[:, 1])
        return [{"type": "Feature",
                 "properties": {"kind": k, "name": n, "county": c, **({"town": t} if k == "village" else {})},
                 "geometry": {"type": "Point", "coordinates": [round(float(lo), 6), round(float(la), 6)]}}
                for n, k, c, t, la, lo in zip(self.names, self.kind, self.county, self.town, lat, lon, strict=True)]


def build_gazetteer(geo: Geography, rng: np.random.Generator) -> Gazetteer:
    """Villages around every town (unique names within a county), and the towns themselves."""
    names, kinds, counties, towns, xy = [], [], [], [], []
    used: dict[str, set[str]] = {}
    for node in geo.nodes:
        if node.kind != "town":
            continue
        names.append(node.name)
        kinds.append("town")
        counties.append(node.county)
        towns.append(node.name)
        xy.append((node.x, node.y))
        taken = used.setdefault(node.county, set())
        for _ in range(int(rng.integers(*PER_TOWN))):
            for _attempt in range(20):
                name = village(rng)
                if name not in taken:
                    break
            taken.add(name)
            ang, rad = rng.uniform(0, 2 * np.pi), rng.uniform(*RADIUS_M)
            names.append(name)
            kinds.append("village")
            counties.append(node.county)
            towns.append(node.name)
            xy.append((node.x + rad * np.cos(ang), node.y + rad * np.sin(ang)))
    return Gazetteer(names, kinds, counties, towns, np.array(xy, dtype=float).reshape(-1, 2))
