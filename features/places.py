"""``places.geojson``: rivers, reservoirs, karst features, protected areas, landfills, restricted
zones and roads (WGS84).

Two kinds carry rules (DATA_CONTRACT.md §1): ``restricted`` (禁限行区域, a Polygon) with optional
``properties.hours``, comma-separated local ``HH:MM-HH:MM`` ranges, each half-open [start, end) and
crossing midnight when end is earlier than start (absent or empty: always); ``road`` (a LineString)
with an optional ``properties.speed_limit_kmh`` for dangerous-goods vehicles. A malformed value is
a problem naming the file, the feature's position and the property.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from features.contract import PLACE_KINDS
from features.problems import ProblemLog

GEOMETRY_TYPES = ("Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon")


RULE_GEOMETRIES = {"restricted": ("Polygon", "MultiPolygon"), "road": ("LineString", "MultiLineString")}
DAY_MIN = 24 * 60
_RANGE = re.compile(r"^(\d{1,2}):(\d{2})\s*[-–—~～至]\s*(\d{1,2}):(\d{2})$")

Hours = tuple[tuple[int, int], ...]  # (start, end) minutes of the local day; end < start crosses midnight


@dataclass(frozen=True)
class Place:
    kind: str  # river, reservoir, karst, protected, landfill, restricted, road, or another word (kept, unused)
    name: str
    geometry: BaseGeometry
    properties: dict = field(default_factory=dict, compare=False, hash=False)
    hours: Hours | None = field(default=None, compare=False)  # restricted: when it applies; None = always
    speed_limit_kmh: float | None = field(default=None, compare=False)  # road: limit for dangerous goods


def parse_hours(text: str) -> Hours:
    """``"07:00-09:00,17:00-19:00"`` → ((420, 540), (1020, 1140)); ``"22:00-06:00"`` crosses midnight.

    Ranges are separated by commas (full-width ones too); 24:00 may end a range; a range whose start
    equals its end is refused (empty or whole day: say which by leaving ``hours`` out). Raises
    ``ValueError`` saying what is wrong."""
    out = []
    for part in re.split(r"[,，、;；]", text):
        part = part.strip()
        if not part:
            continue
        m = _RANGE.match(part)
        if m is None:
            raise ValueError(f"'{part}' is not a range HH:MM-HH:MM")
        h0, m0, h1, m1 = (int(g) for g in m.groups())
        if h0 > 23 or m0 > 59 or h1 > 24 or m1 > 59 or (h1 == 24 and m1 != 0):
            raise ValueError(f"'{part}' has an impossible time (hours 00-23, or 24:00 as an end; minutes 00-59)")
        start, end = h0 * 60 + m0, h1 * 60 + m1  # 24:00 ends the day (1440)
        if start == end:
            raise ValueError(f"'{part}' starts where it ends; leave hours out for a zone restricted all day")
        out.append((start, end))
    if not out:
        raise ValueError("no range given")
    return tuple(out)


def in_hours(hours: Hours | None, minute_of_day) -> bool:
    """Whether a local minute of the day (0-1439, fractions allowed) falls in ``hours`` (None: always)."""
    if hours is None:
        return True
    return any((a <= minute_of_day < b) if a < b else (minute_of_day >= a or minute_of_day < b) for a, b in hours)


def _rules(kind: str, props: dict, file: str, i: int, log: ProblemLog) -> tuple[bool, Hours | None, float | None]:
    """The restricted zone's hours or the road's limit; False when the feature is unusable."""
    hours, limit = None, None
    if kind == "restricted":
        raw = props.get("hours")
        if raw is not None and not (isinstance(raw, str) and not raw.strip()):
            if not isinstance(raw, str):
                log.add(file, i, "hours", f"properties.hours must be text such as \"07:00-09:00,17:00-19:00\" (got {raw!r})")
                return False, None, None
            try:
                hours = parse_hours(raw)
            except ValueError as exc:
                log.add(file, i, "hours", f"properties.hours {raw!r}: {exc}; write local HH:MM-HH:MM ranges separated "
                                          "by commas, e.g. \"07:00-09:00,22:00-06:00\"")
                return False, None, None
    elif kind == "road":
        raw = props.get("speed_limit_kmh")
        if raw is not None and raw != "":
            try:
                limit = float(raw)
            except (TypeError, ValueError):
                limit = float("nan")
            if isinstance(raw, bool) or not (0 < limit < 200):
                log.add(file, i, "speed_limit_kmh", f"properties.speed_limit_kmh must be a number of km/h above 0 and "
                                                    f"below 200 (got {raw!r})")
                return False, None, None
    return True, hours, limit


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
        except (ValueError, TypeError, AttributeError, IndexError, KeyError, shapely.errors.ShapelyError) as exc:
            log.add(file, i, "geometry", f"geometry cannot be read: {exc}")
            continue
        if g.is_empty:
            log.add(file, i, "geometry", "geometry is empty")
            continue
        minx, miny, maxx, maxy = g.bounds
        if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            log.add(file, i, "geometry", "coordinates out of range: GeoJSON is [lon, lat] in WGS84 degrees")
            continue
        kind = kind.strip().lower()
        if kind in RULE_GEOMETRIES and g.geom_type not in RULE_GEOMETRIES[kind]:
            log.add(file, i, "geometry", f"a '{kind}' place must be a {' or '.join(RULE_GEOMETRIES[kind])} (got {g.geom_type})")
            continue
        ok, hours, limit = _rules(kind, props, file, i, log)
        if not ok:
            continue
        name = props.get("name")
        places.append(Place(kind, str(name) if name is not None else "", g, props, hours, limit))
    return places
