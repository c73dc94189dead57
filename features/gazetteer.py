"""Names in a tip's words: villages, towns, rivers, caves and enterprises, matched against the
places layer (``places.geojson``, any named feature) and the enterprise registry.

Callers rarely send coordinates but usually say where ("XX镇XX村后面的河沟", "漓江边上") and
sometimes who ("瑞鑫化工的车"). A mention of a village or town places the tip within a few
kilometres; a named cave or reservoir within a few hundred metres; a river alone places nothing
(it is tens of kilometres long) but is kept as evidence. Enterprises are matched by their full
registered name and by the short forms people use (without 有限公司/厂, without the city).

Matching is by exact substring, longest first, without overlaps: no word segmenter is needed,
and a name shorter than two characters is never matched. Lookup is by the first two characters
of each name, so a tip costs a few hundred dictionary lookups whatever the size of the registry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

# how far from the named point the reported place may be, metres (a village's fields and roads,
# a town's area); kinds not listed (rivers, protected areas, roads) place nothing
RADIUS_M = {"village": 2500.0, "town": 4000.0, "karst": 800.0, "reservoir": 2500.0, "landfill": 800.0,
            "enterprise": 1500.0}
SPECIFICITY = ("karst", "landfill", "village", "enterprise", "reservoir", "town")  # most precise first
COMPANY_SUFFIXES = ("有限责任公司", "股份有限公司", "有限公司", "集团公司", "分公司", "公司", "集团", "总厂", "厂")
CITY_PREFIX = re.compile(r"^(广西壮族自治区|广西)?([\u4e00-\u9fff]{2,4}?(市|县|区))?")
MIN_NAME_CHARS = 2
MIN_SHORT_NAME_CHARS = 4  # a short form of an enterprise's name must keep this many characters


@dataclass(frozen=True)
class Mention:
    kind: str  # village, town, river, reservoir, karst, ..., enterprise
    name: str  # the words matched
    ref: str  # the place's name or the enterprise_id
    lat: float  # a representative point (NaN for lines and areas too large to place anything)
    lon: float
    county: str  # county of the place or enterprise, "" if unknown
    start: int  # position in the text
    parent: str = ""  # the town a village belongs to, where the places layer says


def enterprise_aliases(name: str) -> set[str]:
    """The registered name and the short forms people use for it."""
    name = str(name).strip()
    out = {name} if len(name) >= MIN_NAME_CHARS else set()
    stem = name
    for suf in COMPANY_SUFFIXES:
        if stem.endswith(suf) and len(stem) - len(suf) >= MIN_SHORT_NAME_CHARS:
            stem = stem[: -len(suf)]
            break
    out.add(stem)
    m = CITY_PREFIX.match(stem)
    if m and m.end() and len(stem) - m.end() >= MIN_SHORT_NAME_CHARS:
        out.add(stem[m.end():])
    # "桂林瑞鑫化工" -> also "瑞鑫化工" when the name starts with a known city word of two characters
    if len(stem) - 2 >= MIN_SHORT_NAME_CHARS and stem[:2] in ("桂林", "柳州", "南宁", "梧州", "贺州", "广西"):
        out.add(stem[2:])
    return {a for a in out if len(a) >= MIN_SHORT_NAME_CHARS or a == name}


class Gazetteer:
    """Names of places and enterprises, and where they are."""

    def __init__(self, places: list | None, enterprises: pd.DataFrame | None):
        self._entries: dict[str, list[Mention]] = {}
        for p in places or []:
            name = (p.name or "").strip()
            if len(name) < MIN_NAME_CHARS:
                continue
            g = p.geometry
            if p.kind in RADIUS_M:
                c = g.representative_point() if g.geom_type != "Point" else g
                lat, lon = float(c.y), float(c.x)
            else:
                lat = lon = float("nan")
            props = p.properties or {}
            self._add(Mention(p.kind, name, name, lat, lon, str(props.get("county") or ""), -1, str(props.get("town") or "")))
        if enterprises is not None and len(enterprises):
            cols = enterprises[["enterprise_id", "name", "lat", "lon", "county"]]
            for eid, name, lat, lon, county in cols.itertuples(index=False):
                for alias in enterprise_aliases(name):
                    self._add(Mention("enterprise", alias, str(eid), float(lat), float(lon), str(county or ""), -1))
        self._by_head: dict[str, list[str]] = {}
        for name in self._entries:
            self._by_head.setdefault(name[:MIN_NAME_CHARS], []).append(name)
        for names in self._by_head.values():
            names.sort(key=len, reverse=True)

    def _add(self, m: Mention) -> None:
        bucket = self._entries.setdefault(m.name, [])
        if m not in bucket:
            bucket.append(m)

    def __len__(self) -> int:
        return len(self._entries)

    def find(self, text: str) -> list[Mention]:
        """Every place and enterprise named in ``text``: longest match first, no overlaps; a name
        shared by several places gives one mention per place."""
        if not isinstance(text, str) or not text:
            return []
        out: list[Mention] = []
        i, n = 0, len(text)
        while i < n - 1:
            hit = None
            for name in self._by_head.get(text[i:i + MIN_NAME_CHARS], ()):
                if text.startswith(name, i):
                    hit = name
                    break
            if hit is None:
                i += 1
                continue
            out.extend(Mention(m.kind, m.name, m.ref, m.lat, m.lon, m.county, i, m.parent) for m in self._entries[hit])
            i += len(hit)
        return out

    def locate(self, mentions: list[Mention], county: str | None = None) -> tuple[float, float, float, str] | None:
        """(lat, lon, radius_m, name) of the most precise placeable mention, preferring places in
        the tip's ``county`` and a village of a town that is also named; None if nothing places it."""
        placeable = [m for m in mentions if m.kind in RADIUS_M and np.isfinite(m.lat)]
        if not placeable:
            return None
        towns = {m.name for m in mentions if m.kind == "town"}

        def rank(m: Mention) -> tuple:
            in_county = bool(county) and m.county == county
            return (SPECIFICITY.index(m.kind) if m.kind in SPECIFICITY else 99, not in_county, m.start)

        best = min(placeable, key=rank)
        same = [m for m in placeable if m.name == best.name and m.kind == best.kind]
        if len(same) > 1:  # one name, several places: a town or the county named beside it decides
            narrowed = [m for m in same if (county and m.county == county)] or same
            if towns and best.kind == "village":
                narrowed = [m for m in narrowed if m.parent in towns] or narrowed
            best = narrowed[0]
            if len(narrowed) > 1:  # still ambiguous: the centre of the candidates, with their spread
                lat = float(np.mean([m.lat for m in narrowed]))
                lon = float(np.mean([m.lon for m in narrowed]))
                from features.geo import haversine_m

                spread = float(np.max(haversine_m(lat, lon, np.array([m.lat for m in narrowed]), np.array([m.lon for m in narrowed]))))
                return lat, lon, RADIUS_M[best.kind] + spread, best.name
        return best.lat, best.lon, RADIUS_M[best.kind], best.name


PLATE = re.compile(r"([桂京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂甘晋蒙陕吉闽贵粤青藏川宁琼])\s*([A-Z])\s*[·.]?\s*([0-9A-Z*＊xX]{4,5})")
PLATE_TAIL = re.compile(r"尾号\s*(?:是)?\s*([0-9A-Z]{2,4})")


def plate_patterns(text: str) -> list[str]:
    """Plate fragments a caller wrote, as regular expressions over plates (``*`` unknown characters)."""
    if not isinstance(text, str):
        return []
    out = []
    for prov, letter, rest in PLATE.findall(text):
        rest = rest.replace("＊", "*").replace("x", "*").replace("X", "*")
        if rest.count("*") <= 3:
            out.append("^" + prov + letter + "".join("." if c == "*" else re.escape(c) for c in rest) + "$")
    for tail in PLATE_TAIL.findall(text):
        out.append(re.escape(tail) + "$")
    return out


def plates_matching(patterns: list[str], plates: np.ndarray) -> set[str]:
    """The registered plates that fit any of ``patterns``."""
    found: set[str] = set()
    for p in patterns:
        rx = re.compile(p)
        found.update(str(v) for v in plates if rx.search(str(v)))
    return found
