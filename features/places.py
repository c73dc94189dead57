"""``places.geojson``: rivers, reservoirs, karst features, protected areas, landfills (WGS84)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from features.contract import PLACE_KINDS
from features.problems import ProblemLog

GEOMETRY_TYPES = ("Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon")


@dataclass(frozen=True)
class Place:
    kind: str  # river, reservoir, karst, protected, landfill, or another word (kept, unused)
    name: str
    geometry: BaseGeometry
    properties: dict = field(default_factory=dict, compare=False, hash=False)


def load_places(path: Path, log: ProblemLog) -> list[Place]:
    """Parse a FeatureCollection; a feature's row in problems is its 1-based position."""
    file = path.name
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = path.read_bytes().decode("gb18030")
        except UnicodeDecodeError:
            log.add(file, None, None, "cannot decode: save it as UTF-8 GeoJSON")
            return []
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        log.add(file, exc.lineno, None, f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
        return []
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"), list):
        log.add(file, None, None, "must be a GeoJSON FeatureCollection with a 'features' list")
        return []
    places: list[Place] = []
    for i, feat in enumerate(doc["features"], start=1):
        if not isinstance(feat, dict) or feat.get("type") != "Feature":
            log.add(file, i, None, "each entry of 'features' must be a GeoJSON Feature")
            continue
        props = feat.get("properties") or {}
        if not isinstance(props, dict):
            log.add(file, i, "properties", "properties must be an object")
            continue
        kind = props.get("kind")
        if not isinstance(kind, str) or not kind.strip():
            log.add(file, i, "kind", f"properties.kind is missing; use one of {', '.join(PLACE_KINDS)} (or another word, kept but unused)")
            continue
        geom = feat.get("geometry")
        if not isinstance(geom, dict) or geom.get("type") not in GEOMETRY_TYPES:
            log.add(file, i, "geometry", f"geometry must be one of {', '.join(GEOMETRY_TYPES)}")
            continue
        try:
            g = shape(geom)
        except (ValueError, TypeError, AttributeError, IndexError, shapely.errors.ShapelyError) as exc:
            log.add(file, i, "geometry", f"geometry cannot be read: {exc}")
            continue
        if g.is_empty:
            log.add(file, i, "geometry", "geometry is empty")
            continue
        minx, miny, maxx, maxy = g.bounds
        if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            log.add(file, i, "geometry", "coordinates out of range: GeoJSON is [lon, lat] in WGS84 degrees")
            continue
        name = props.get("name")
        places.append(Place(kind.strip().lower(), str(name) if name is not None else "", g, props))
    return places
