"""A coarse road network: county seats, towns, parks and urban junctions joined by meandering roads.

Every edge has one fixed polyline, so trucks between the same two places follow the same route,
except while a road-works closure forces a detour. Sites (enterprises, illegal sites, restaurants)
join the network by a short access road to their nearest node.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra, minimum_spanning_tree
from scipy.spatial import cKDTree

from simulation import geodata
from simulation.geography import Geography, meander

CLASSES = ("urban", "county", "provincial", "highway", "access")
CLASS_ID = {c: i for i, c in enumerate(CLASSES)}
SPEED_KMH = np.array([30.0, 45.0, 58.0, 80.0, 22.0])  # mean cruising speed per class
SPEED_SD = np.array([6.0, 8.0, 8.0, 7.0, 5.0])
ACCESS = CLASS_ID["access"]


@dataclass
class Edge:
    u: int
    v: int
    cls: int
    xy: np.ndarray  # polyline from u to v, metres
    length: float


@dataclass
class Route:
    """A drivable polyline with a road class per segment and the nodes it passes (with their distance)."""

    xy: np.ndarray
    cls: np.ndarray  # per segment
    cum: np.ndarray  # distance from the start at each vertex, metres
    nodes: list[tuple[int, float]]
    by_class: np.ndarray | None = None

    @property
    def length(self) -> float:
        return float(self.cum[-1])

    def length_by_class(self) -> np.ndarray:
        """Metres driven on each road class."""
        if self.by_class is None:
            self.by_class = np.bincount(self.cls, weights=np.diff(self.cum), minlength=len(CLASSES))
        return self.by_class

    def mean_duration_s(self) -> float:
        return float((self.length_by_class() / (SPEED_KMH / 3.6)).sum())


class RoadNetwork:
    """Nodes from the geography, edges with polylines, shortest paths and registered sites."""

    def __init__(self, geo: Geography, rng: np.random.Generator):
        self.geo = geo
        self.nodes = list(geo.nodes)
        self.edges: list[Edge] = []
        self._rng = rng
        self._build()
        self.node_xy = np.array([[n.x, n.y] for n in self.nodes])
        self.closures: list[tuple[int, int, int]] = []  # (edge, first day, last day)
        self._paths: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._route_cache: OrderedDict[tuple[int, int, int], Route] = OrderedDict()  # least recently used first
        self.route_cache_size = 20_000
        self._path_cache: dict[tuple[int, int, int], tuple] = {}
        self._node_tree = cKDTree(self.node_xy[self._attachable()])
        self._attach_index = np.flatnonzero(self._attachable())
        self.pts: list[tuple[float, float]] = []  # registered sites
        self.pt_node: list[int] = []
        self._access: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    # -- construction -----------------------------------------------------------------------
    def _attachable(self) -> np.ndarray:
        return np.array([n.kind != "service" for n in self.nodes])

    def _index(self, name: str) -> int:
        return next(i for i, n in enumerate(self.nodes) if n.name == name)

    def _add_edge(self, u: int, v: int, cls: str, seen: set[tuple[int, int]]) -> None:
        key = (min(u, v), max(u, v))
        if u == v or key in seen:
            return
        seen.add(key)
        a = np.array([self.nodes[u].x, self.nodes[u].y])
        b = np.array([self.nodes[v].x, self.nodes[v].y])
        amp, spacing, harm = {"urban": (0.02, 150.0, 2), "county": (0.09, 150.0, 5),
                              "provincial": (0.06, 200.0, 5), "highway": (0.035, 250.0, 4)}[cls]
        xy = meander(np.vstack([a, b]), spacing, amp, self._rng, harmonics=harm)
        length = float(np.hypot(*np.diff(xy, axis=0).T).sum())
        if cls == "highway" and length > 45_000:  # a service area half way
            mid = len(xy) // 2
            near = min((n for n in self.nodes if n.kind in ("seat", "outside", "town")),
                       key=lambda n: (n.x - xy[mid, 0]) ** 2 + (n.y - xy[mid, 1]) ** 2)
            label = near.name.replace("市", "").replace("区", "")[-2:] if near.kind == "outside" else near.name[:2]
            self.nodes.append(_service_node(f"{label}服务区", near.county, xy[mid]))
            w = len(self.nodes) - 1
            for (p, q, part) in ((u, w, xy[: mid + 1]), (w, v, xy[mid:])):
                seg = float(np.hypot(*np.diff(part, axis=0).T).sum())
                self.edges.append(Edge(p, q, CLASS_ID[cls], part, seg))
            return
        self.edges.append(Edge(u, v, CLASS_ID[cls], xy, length))

    def _build(self) -> None:
        seen: set[tuple[int, int]] = set()
        for a, b, cls in geodata.TRUNK_ROADS:
            self._add_edge(self._index(a), self._index(b), cls, seen)
        xy = np.array([[n.x, n.y] for n in self.nodes])
        kinds = [n.kind for n in self.nodes]
        inside = [i for i, k in enumerate(kinds) if k not in ("outside", "service")]
        tree = cKDTree(xy[inside])
        urban = [i for i in inside if kinds[i] == "urban"]
        for i in inside:
            k = 4 if kinds[i] in ("town", "park") else 3
            _, nn = tree.query(xy[i], k=k)
            for j in nn[1:]:
                j = inside[j]
                d = float(np.hypot(*(xy[i] - xy[j])))
                if d > 30_000 and kinds[i] != "seat":
                    continue
                cls = "urban" if (i in urban and j in urban) else "county"
                if kinds[i] == "park" or kinds[j] == "park":
                    cls = "urban" if (i in urban or j in urban) else "county"
                self._add_edge(i, j, cls, seen)
        # guarantee connectivity with a spanning tree over the inside nodes
        d = np.hypot(xy[inside][:, None, 0] - xy[inside][None, :, 0], xy[inside][:, None, 1] - xy[inside][None, :, 1])
        mst = minimum_spanning_tree(csr_matrix(d)).tocoo()
        for a, b in sorted(zip(mst.row.tolist(), mst.col.tolist(), strict=True)):
            self._add_edge(inside[a], inside[b], "county", seen)

    # -- shortest paths ----------------------------------------------------------------------
    def _variant_for(self, day: int) -> int:
        for k, (_e, d0, d1) in enumerate(self.closures):
            if d0 <= day <= d1:
                return k + 1
        return 0

    def _graph(self, variant: int) -> tuple[np.ndarray, np.ndarray]:
        if variant not in self._paths:
            n = len(self.nodes)
            w = np.full((n, n), np.inf)
            eidx = np.full((n, n), -1, dtype=np.int64)
            closed = self.closures[variant - 1][0] if variant else -1
            for k, e in enumerate(self.edges):
                if k == closed:
                    continue
                t = e.length / (SPEED_KMH[e.cls] / 3.6)
                if t < w[e.u, e.v]:
                    w[e.u, e.v] = w[e.v, e.u] = t
                    eidx[e.u, e.v] = eidx[e.v, e.u] = k
            g = csr_matrix(np.where(np.isfinite(w), w, 0.0))
            _, pred = dijkstra(g, directed=False, return_predecessors=True)
            self._paths[variant] = (pred, eidx)
        return self._paths[variant]

    def node_path(self, a: int, b: int, day: int = 0) -> list[int]:
        pred, _ = self._graph(self._variant_for(day))
        path = [b]
        while path[-1] != a:
            p = int(pred[a, path[-1]])
            if p < 0:
                raise ValueError(f"no road from {self.nodes[a].name} to {self.nodes[b].name}")
            path.append(p)
        return path[::-1]

    # -- registered sites --------------------------------------------------------------------
    def add_point(self, x: float, y: float) -> int:
        """Register a site (enterprise, depot, illegal site, restaurant); returns its point id."""
        _, j = self._node_tree.query([x, y])
        self.pts.append((float(x), float(y)))
        self.pt_node.append(int(self._attach_index[j]))
        return len(self.pts) - 1

    def point_xy(self, pid: int) -> tuple[float, float]:
        return self.pts[pid]

    def _access_road(self, pid: int) -> tuple[np.ndarray, np.ndarray]:
        """Polyline from the point's node to the point."""
        if pid not in self._access:
            n = self.nodes[self.pt_node[pid]]
            a, b = np.array([n.x, n.y]), np.array(self.pts[pid])
            rng = np.random.default_rng(pid + 7919)
            xy = meander(np.vstack([a, b]), 100.0, 0.08, rng, harmonics=3)
            self._access[pid] = (xy, np.full(len(xy) - 1, ACCESS, dtype=np.int8))
        return self._access[pid]

    def _node_path(self, na: int, nb: int, variant: int, day: int) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]], np.ndarray]:
        """Polyline, classes, (node, vertex) marks and metres by class of the fastest path between two nodes."""
        key = (na, nb, variant)
        if key not in self._path_cache:
            _, eidx = self._graph(variant)
            path = self.node_path(na, nb, day)
            parts, classes, marks, n = [self.node_xy[na][None, :]], [], [(na, 0)], 1
            for u, v in zip(path[:-1], path[1:], strict=True):
                e = self.edges[int(eidx[u, v])]
                xy = e.xy if e.u == u else e.xy[::-1]
                parts.append(xy[1:])
                classes.append(np.full(len(xy) - 1, e.cls, dtype=np.int8))
                n += len(xy) - 1
                marks.append((v, n - 1))
            xy = np.vstack(parts)
            cls = np.concatenate(classes) if classes else np.zeros(0, dtype=np.int8)
            by = np.bincount(cls, weights=np.hypot(*np.diff(xy, axis=0).T), minlength=len(CLASSES)) if len(cls) else np.zeros(len(CLASSES))
            self._path_cache[key] = (xy, cls, marks, by)
        return self._path_cache[key]

    def lengths(self, a: int, b: int, day: int = 0) -> np.ndarray:
        """Metres by road class between two registered points on ``day``, without building the polyline."""
        variant = self._variant_for(day)
        na, nb = self.pt_node[a], self.pt_node[b]
        by = self._node_path(na, nb, variant, day)[3].copy() if na != nb else np.zeros(len(CLASSES))
        by[ACCESS] += self._access_length(a) + self._access_length(b)
        return by

    def _access_length(self, pid: int) -> float:
        xy, _ = self._access_road(pid)
        return float(np.hypot(*np.diff(xy, axis=0).T).sum())

    def route(self, a: int, b: int, day: int = 0) -> Route:
        """The route between two registered points on ``day`` (closures apply); recent ones are cached."""
        variant = self._variant_for(day)
        key = (a, b, variant)
        hit = self._route_cache.get(key)
        if hit is not None:
            self._route_cache.move_to_end(key)
            return hit
        na, nb = self.pt_node[a], self.pt_node[b]
        acc_a, cls_a = self._access_road(a)
        acc_b, cls_b = self._access_road(b)
        parts, classes = [acc_a[::-1]], [cls_a[::-1]]
        offset = len(acc_a) - 1
        marks = [(na, offset)]
        if na != nb:
            xy, cls, pm, _ = self._node_path(na, nb, variant, day)
            parts.append(xy[1:])
            classes.append(cls)
            marks = [(n, offset + i) for n, i in pm]
        parts.append(acc_b[1:])
        classes.append(cls_b)
        xy = np.vstack(parts)
        cls = np.concatenate(classes).astype(np.int8)
        cum = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(xy, axis=0).T))])
        r = Route(xy, cls, cum, [(n, float(cum[i])) for n, i in marks])
        self._route_cache[key] = r
        if len(self._route_cache) > self.route_cache_size:
            self._route_cache.popitem(last=False)
        return r

    def add_closures(self, n_days: int, rng: np.random.Generator) -> list[tuple[int, int, int]]:
        """Road works: one county/urban edge closed for 2-8 weeks, about twice a year."""
        n = max(1, int(round(n_days / 365 * 2)))
        candidates = [k for k, e in enumerate(self.edges) if e.cls in (CLASS_ID["county"], CLASS_ID["urban"], CLASS_ID["provincial"])
                      and self.nodes[e.u].kind != "outside" and self.nodes[e.v].kind != "outside"]
        starts = np.sort(rng.choice(max(1, n_days - 20), size=n, replace=False))
        last_end = -1
        for s in starts:
            s = int(max(s, last_end + 1))
            dur = int(rng.integers(14, 57))
            e = int(rng.choice(candidates))
            self.closures.append((e, s, min(n_days - 1, s + dur)))
            last_end = s + dur
            if not self._still_connected(len(self.closures)):
                self.closures.pop()
        return self.closures

    def _still_connected(self, variant: int) -> bool:
        pred, _ = self._graph(variant)
        inside = [i for i, n in enumerate(self.nodes) if n.kind != "outside"]
        return bool((pred[inside[0], inside[1:]] >= 0).all())


def _service_node(name: str, county: str, xy: np.ndarray):
    from simulation.geography import Node

    return Node(name, "service", county, float(xy[0]), float(xy[1]))


def edge_label(net: RoadNetwork, k: int) -> str:
    e = net.edges[k]
    return f"road:{net.nodes[e.u].name}-{net.nodes[e.v].name}"
