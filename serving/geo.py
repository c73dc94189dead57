"""GeoJSON for the maps the web page draws itself (no tile server): places (rivers, reservoirs,
karst, protected areas), enterprises, stops and trip tracks. Coordinates are WGS84 [lon, lat]."""

from __future__ import annotations

import math

import shapely
from shapely.geometry import box, mapping

SIMPLIFY_DEG = 0.0002  # about 20 m: enough for a county map, and keeps the payload small
DEG_M = 111_320.0


def _round(coords, nd: int = 6):
    if isinstance(coords, (list, tuple)) and coords and isinstance(coords[0], (int, float)):
        return [round(float(c), nd) for c in coords]
    return [_round(c, nd) for c in coords]


def geometry(geom) -> dict:
    g = mapping(geom)
    return {"type": g["type"], "coordinates": _round(g["coordinates"])}


def feature(geom: dict, **props) -> dict:
    return {"type": "Feature", "geometry": geom, "properties": {k: v for k, v in props.items() if v is not None}}


def point(lat: float, lon: float, **props) -> dict | None:
    if lat is None or lon is None or (isinstance(lat, float) and math.isnan(lat)) or (isinstance(lon, float) and math.isnan(lon)):
        return None
    return feature({"type": "Point", "coordinates": [round(float(lon), 6), round(float(lat), 6)]}, **props)


def line(lats, lons, **props) -> dict | None:
    coords = [[round(float(lo), 6), round(float(la), 6)] for la, lo in zip(lats, lons, strict=True)]
    if len(coords) < 2:
        return None
    return feature({"type": "LineString", "coordinates": coords}, **props)


def collection(features) -> dict:
    return {"type": "FeatureCollection", "features": [f for f in features if f is not None]}


def _place_feature(p) -> dict | None:
    g = p.geometry.simplify(SIMPLIFY_DEG, preserve_topology=True)
    if g.is_empty:
        return None
    return feature(geometry(g), layer="place", kind=p.kind, name=p.name or None)


def places_collection(places, kinds: set[str] | None = None) -> dict:
    return collection(_place_feature(p) for p in places if kinds is None or p.kind in kinds)


def places_near(places, lats, lons, margin_m: float = 3000.0, limit: int = 200, meeting=None) -> list[dict]:
    """Places within the box around the given points, enlarged by ``margin_m``. ``meeting``: the
    places (in their order) whose geometry intersects an area, from an index of ``places``
    (``serving.lookup.SnapshotLookup.places_meeting``) instead of testing every place."""
    lats = [float(x) for x in lats if x is not None and not math.isnan(float(x))]
    lons = [float(x) for x in lons if x is not None and not math.isnan(float(x))]
    if not lats:
        return []
    dlat = margin_m / DEG_M
    dlon = margin_m / (DEG_M * max(math.cos(math.radians(sum(lats) / len(lats))), 0.1))
    area = box(min(lons) - dlon, min(lats) - dlat, max(lons) + dlon, max(lats) + dlat)
    near = meeting(area) if meeting is not None else [p for p in places if shapely.intersects(p.geometry, area)]
    near = near[:limit]
    clipped = shapely.simplify(shapely.intersection([p.geometry for p in near], area), SIMPLIFY_DEG / 2,
                               preserve_topology=True) if near else []
    out = []
    for p, g in zip(near, clipped, strict=True):
        if not g.is_empty and g.geom_type in ("Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon"):
            out.append(feature(geometry(g), layer="place", kind=p.kind, name=p.name or None))
    return out
