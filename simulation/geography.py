"""The prefecture's geography: counties, towns, parks, meandering rivers, reservoirs, karst, protected areas.

Geometry is kept in a local metric projection (metres east/north of 25.0N 110.3E) and converted to
WGS84 only when written. ``places_geojson`` writes the contract's ``places.geojson``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from scipy.spatial import cKDTree
from shapely.geometry import LineString, MultiLineString, Polygon

from simulation import geodata

EARTH_RADIUS_M = 6_371_008.8
LAT0, LON0 = 25.0, 110.3
KX = np.radians(1.0) * EARTH_RADIUS_M * np.cos(np.radians(LAT0))  # metres per degree of longitude
KY = np.radians(1.0) * EARTH_RADIUS_M  # metres per degree of latitude


def to_xy(lat, lon) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 degrees to local metres (x east, y north)."""
    return (np.asarray(lon, dtype=float) - LON0) * KX, (np.asarray(lat, dtype=float) - LAT0) * KY


def to_latlon(x, y) -> tuple[np.ndarray, np.ndarray]:
    """Local metres to WGS84 degrees (lat, lon)."""
    return np.asarray(y, dtype=float) / KY + LAT0, np.asarray(x, dtype=float) / KX + LON0


def meander(points: np.ndarray, spacing_m: float, amplitude: float, rng: np.random.Generator,
            harmonics: int = 6) -> np.ndarray:
    """Densify a polyline (k x 2 metres) with vertices every ``spacing_m`` and smooth sideways bends.

    Each stretch bends by a random sum of sines that vanish at its ends, of size ``amplitude`` times
    its length, so waypoints stay exactly where they were.
    """
    out = [points[:1]]
    for a, b in zip(points[:-1], points[1:], strict=True):
        d = b - a
        length = float(np.hypot(*d))
        if length < 1e-6:
            continue
        n = max(2, int(np.ceil(length / spacing_m)) + 1)
        s = np.linspace(0.0, 1.0, n)
        k = np.arange(1, harmonics + 1)
        coef = rng.normal(0.0, 1.0, harmonics) / k
        off = (np.sin(np.pi * np.outer(s, k)) @ coef) * amplitude * length / max(1.0, np.abs(coef).sum() ** 0.5)
        normal = np.array([-d[1], d[0]]) / length
        seg = a + np.outer(s, d) + np.outer(off, normal)
        out.append(seg[1:])
    return np.vstack(out)


@dataclass
class Node:
    name: str
    kind: str  # seat, urban, town, park, outside, service
    county: str
    x: float
    y: float


@dataclass
class Geography:
    counties: dict[str, tuple[float, float, float]]  # name -> (x, y, radius_m)
    nodes: list[Node]
    parks: dict[str, tuple[str, float, float, float]]  # name -> (county, x, y, radius_m)
    rivers: list[tuple[str, np.ndarray]]
    reservoirs: list[tuple[str, Polygon]]
    karst_xy: np.ndarray
    karst_names: list[str]
    protected: list[tuple[str, Polygon]]
    landfills: list[tuple[str, float, float]]
    water: MultiLineString = field(init=False)
    lakes: shapely.Geometry = field(init=False)
    karst_tree: cKDTree = field(init=False)

    def __post_init__(self) -> None:
        self.karst_tree = cKDTree(self.karst_xy)
        self.water = MultiLineString([LineString(xy) for _, xy in self.rivers])
        self.lakes = shapely.union_all([p for _, p in self.reservoirs])
        shapely.prepare(self.water)
        shapely.prepare(self.lakes)

    def node_index(self, name: str) -> int:
        for i, n in enumerate(self.nodes):
            if n.name == name:
                return i
        raise KeyError(name)

    def water_distance(self, x, y) -> np.ndarray:
        """Metres from each point to the nearest river or reservoir."""
        pts = shapely.points(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
        return np.minimum(shapely.distance(pts, self.water), shapely.distance(pts, self.lakes))

    def karst_distance(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """Metres to, and index of, the nearest karst feature of each point."""
        pts = np.column_stack([np.atleast_1d(np.asarray(x, dtype=float)), np.atleast_1d(np.asarray(y, dtype=float))])
        dist, idx = self.karst_tree.query(pts)
        return np.asarray(dist), np.asarray(idx)

    def county_of(self, x, y) -> list[str]:
        """The county (inside the prefecture) a point most plausibly belongs to."""
        names = list(self.counties)
        cx = np.array([self.counties[n][0] for n in names])
        cy = np.array([self.counties[n][1] for n in names])
        cr = np.array([self.counties[n][2] for n in names])
        x = np.atleast_1d(np.asarray(x, dtype=float))
        y = np.atleast_1d(np.asarray(y, dtype=float))
        d = np.hypot(x[:, None] - cx, y[:, None] - cy) / (cr + 4000.0)
        return [names[i] for i in d.argmin(axis=1)]


def build_geography(rng: np.random.Generator, karst_points: int) -> Geography:
    """Draw the towns, meanders, reservoir shapes and karst field of one world."""
    counties: dict[str, tuple[float, float, float]] = {}
    nodes: list[Node] = []
    for name, (lat, lon, r_km, _k, _code) in geodata.COUNTIES.items():
        x, y = to_xy(lat, lon)
        counties[name] = (float(x), float(y), r_km * 1000.0)
        nodes.append(Node(name, "urban" if name in geodata.URBAN else "seat", name, float(x), float(y)))
    for name, (lat, lon, _code) in geodata.OUTSIDE.items():
        x, y = to_xy(lat, lon)
        nodes.append(Node(name, "outside", name, float(x), float(y)))
    _urban_grid(nodes, rng)
    parks = {}
    for name, (county, lat, lon, r_km) in geodata.PARKS.items():
        x, y = to_xy(lat, lon)
        parks[name] = (county, float(x), float(y), r_km * 1000.0)
        nodes.append(Node(name, "park", county, float(x), float(y)))
    _towns(nodes, counties, rng)
    rivers = []
    for name, pts in geodata.RIVERS.items():
        lat, lon = np.array(pts).T
        xy = np.column_stack(to_xy(lat, lon))
        amp = 0.10 if name in ("漓江", "遇龙河", "桃花江") else 0.07
        rivers.append((name, meander(xy, 120.0, amp, rng, harmonics=9)))
    reservoirs = [(name, _blob(*to_xy(lat, lon), r_km * 1000.0, elong, rng))
                  for name, (_c, lat, lon, r_km, elong) in geodata.RESERVOIRS.items()]
    karst_xy, karst_names = _karst(counties, karst_points, rng)
    li = next(xy for name, xy in rivers if name == "漓江")
    city_y, yangshuo_y = to_xy(25.26, 0)[1], to_xy(24.76, 0)[1]
    core = li[(li[:, 1] <= city_y) & (li[:, 1] >= yangshuo_y)]
    protected = [
        (geodata.PROTECTED_CORE[0], _blob(*to_xy(*geodata.PROTECTED_CORE[1:3]), geodata.PROTECTED_CORE[3] * 1000.0, 1.3, rng)),
        ("漓江风景名胜区核心景区", LineString(core).buffer(900.0, quad_segs=4).simplify(60.0)),
    ]
    landfills = [(name, *(float(v) for v in to_xy(lat, lon))) for name, (_c, lat, lon) in geodata.LANDFILLS.items()]
    return Geography(counties, nodes, parks, rivers, reservoirs, karst_xy, karst_names, protected, landfills)


def _urban_grid(nodes: list[Node], rng: np.random.Generator) -> None:
    cx, cy = to_xy(*geodata.CITY_CENTRE)
    k = 0
    for i in range(-1, 2):
        for j in range(-2, 2):
            x = float(cx + (i * 3600.0) + rng.normal(0, 400))
            y = float(cy + (j * 3600.0 + 1800.0) + rng.normal(0, 400))
            k += 1
            nodes.append(Node(f"城区路口{k}", "urban", "", x, y))
    names = list(geodata.URBAN)
    for n in nodes:
        if n.kind == "urban" and not n.county:
            d = [np.hypot(n.x - to_xy(*geodata.COUNTIES[c][:2])[0], n.y - to_xy(*geodata.COUNTIES[c][:2])[1]) for c in names]
            n.county = names[int(np.argmin(d))]


def _towns(nodes: list[Node], counties: dict[str, tuple[float, float, float]], rng: np.random.Generator) -> None:
    for county, towns in geodata.TOWNS.items():
        cx, cy, r = counties[county]
        for town in towns:
            for _ in range(60):
                rad = r * np.sqrt(rng.uniform(0.12, 1.0))
                ang = rng.uniform(0, 2 * np.pi)
                x, y = cx + rad * np.cos(ang), cy + rad * np.sin(ang)
                if min(np.hypot(n.x - x, n.y - y) for n in nodes) > 3500.0:
                    break
            nodes.append(Node(town, "town", county, float(x), float(y)))


def _blob(x: float, y: float, r: float, elong: float, rng: np.random.Generator) -> Polygon:
    """An irregular lake-like polygon of mean radius ``r`` metres, stretched by ``elong``."""
    n = 48
    ang = np.linspace(0, 2 * np.pi, n, endpoint=False)
    k = np.arange(1, 6)
    rad = 1.0 + (np.sin(np.outer(ang, k) + rng.uniform(0, 2 * np.pi, 5)) @ (rng.normal(0, 0.12, 5) / k))
    rot = rng.uniform(0, np.pi)
    px = r * rad * np.cos(ang) * np.sqrt(elong)
    py = r * rad * np.sin(ang) / np.sqrt(elong)
    qx = x + px * np.cos(rot) - py * np.sin(rot)
    qy = y + px * np.sin(rot) + py * np.cos(rot)
    return Polygon(np.column_stack([qx, qy])).buffer(0)


_KARST_SYLLABLES = "龙凤仙狮象猴鹰蝙蝠白黑青黄金银水云风月星珠莲花古冷暖穿岩洞石马牛羊虎鼓钟佛观音罗汉"


def _karst(counties: dict[str, tuple[float, float, float]], n: int, rng: np.random.Generator) -> tuple[np.ndarray, list[str]]:
    """Karst caves and sinkholes, clustered, most of them in the karst counties."""
    names = list(counties)
    w = np.array([geodata.COUNTIES[c][3] * geodata.COUNTIES[c][2] ** 2 for c in names])
    pts, labels = [], []
    for name, (lat, lon) in geodata.NAMED_KARST.items():
        pts.append(np.array(to_xy(lat, lon), dtype=float))
        labels.append(name)
    n_clusters = max(8, n // 12)
    ci = rng.choice(len(names), size=n_clusters, p=w / w.sum())
    centres = []
    for c in ci:
        cx, cy, r = counties[names[c]]
        rad = r * np.sqrt(rng.uniform(0, 1))
        ang = rng.uniform(0, 2 * np.pi)
        centres.append((cx + rad * np.cos(ang), cy + rad * np.sin(ang)))
    centres = np.array(centres)
    while len(pts) < n:
        c = centres[rng.integers(len(centres))]
        p = c + rng.normal(0, 1800.0, 2)
        pts.append(p)
        a, b = rng.choice(len(_KARST_SYLLABLES), 2, replace=False)
        suffix = rng.choice(["岩", "洞", "岩", "天坑", "溶洞", "落水洞"])
        labels.append(_KARST_SYLLABLES[a] + _KARST_SYLLABLES[b] + suffix)
    return np.vstack(pts), labels


def _coords(xy: np.ndarray) -> list[list[float]]:
    lat, lon = to_latlon(xy[:, 0], xy[:, 1])
    return [[round(float(a), 6), round(float(b), 6)] for a, b in zip(lon, lat, strict=True)]


def _polygon(p: Polygon) -> dict:
    if p.geom_type == "MultiPolygon":
        p = max(p.geoms, key=lambda g: g.area)
    return {"type": "Polygon", "coordinates": [_coords(np.asarray(p.exterior.coords))]}


def places_geojson(geo: Geography, extra: list[dict] = ()) -> dict:
    """The contract's places.geojson: rivers, reservoirs, karst, protected areas and landfills, then
    ``extra`` features (roads and restricted zones, from ``simulation.driving``)."""
    feats = []

    def add(kind: str, name: str, geometry: dict, **extra) -> None:
        feats.append({"type": "Feature", "properties": {"kind": kind, "name": name, **extra}, "geometry": geometry})

    for name, xy in geo.rivers:
        add("river", name, {"type": "LineString", "coordinates": _coords(xy)})
    for name, poly in geo.reservoirs:
        add("reservoir", name, _polygon(poly))
    for name, xy in zip(geo.karst_names, geo.karst_xy, strict=True):
        subtype = "sinkhole" if name.endswith(("天坑", "落水洞")) else "cave"
        add("karst", name, {"type": "Point", "coordinates": _coords(xy[None, :])[0]}, subtype=subtype)
    for name, poly in geo.protected:
        add("protected", name, _polygon(poly))
    for name, x, y in geo.landfills:
        add("landfill", name, {"type": "Point", "coordinates": _coords(np.array([[x, y]]))[0]})
    return {"type": "FeatureCollection", "features": feats + list(extra)}
