"""Facts about a snapshot that the service files its rows under: each entity's county (jurisdiction),
industries and waste categories. Pure functions of the snapshot; computed once per snapshot.

Jurisdiction: an enterprise's is its registered county; a tip's is the county it reports, else its
named enterprise's, else the nearest enterprise's to its location, else none (city-wide users
only); a site's is the county of the nearest of its linked enterprises, else of the nearest
registered enterprise.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from features.geo import haversine_m
from features.timeutil import cutoff


def category(waste_code: str) -> str:
    """``900-214-08`` -> ``HW08`` (the last two digits of a National List code)."""
    s = str(waste_code).strip()
    return f"HW{s[-2:]}" if len(s) >= 2 and s[-2:].isdigit() else ""


def framed(values) -> str:
    """``;a;b;`` so that ``LIKE '%;a;%'`` finds a member (and ``;`` alone means none)."""
    vals = sorted({str(v) for v in values if v is not None and str(v) != "" and not (isinstance(v, float) and np.isnan(v))})
    return ";" + ";".join(vals) + (";" if vals else "")


def split_ids(text) -> list[str]:
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return []
    return [p for p in str(text).split(";") if p]


def county_name(value) -> str | None:
    """A county as written, trimmed; None for a missing or blank one (such rows are city-wide users' only)."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    text = str(value).strip()
    return text or None


class SnapshotContext:
    def __init__(self, snapshot) -> None:
        e = snapshot.enterprises
        self.enterprises = e.set_index("enterprise_id", drop=False)
        self.county_of: dict[str, str | None] = dict(zip(e["enterprise_id"], (county_name(c) for c in e["county"]), strict=True))
        self.industry_of: dict[str, str] = dict(zip(e["enterprise_id"], e["industry_code"].astype(str), strict=True))
        self._lat = e["lat"].to_numpy(float)
        self._lon = e["lon"].to_numpy(float)
        self._ids = e["enterprise_id"].to_numpy()
        self._snapshot = snapshot
        self._categories: dict = {}

    @functools.cached_property
    def name_of(self) -> dict[str, str]:
        """Each enterprise's name (the detail pages name hundreds of manifest parties a page)."""
        e = self.enterprises
        return {i: str(n) for i, n in zip(e.index, e["name"], strict=True)}

    def counties(self) -> list[str]:
        return sorted({c for c in self.county_of.values() if c is not None})

    def categories(self, as_of) -> dict[str, set[str]]:
        """Waste categories (HWxx) each enterprise produced, received or carried on or before ``as_of``
        (computed once per day and kept: the lists of a few as-of dates are read over and over)."""
        key = cutoff(as_of)
        if key not in self._categories:
            if len(self._categories) > 64:
                self._categories.clear()
            self._categories[key] = self._categories_at(key)
        return self._categories[key]

    def _categories_at(self, end) -> dict[str, set[str]]:
        s = self._snapshot
        out: dict[str, set[str]] = {}
        led = s.ledgers
        if len(led):
            led = led[led["month"].dt.end_time < end]
            for eid, code in zip(led["enterprise_id"], led["waste_code"], strict=True):
                out.setdefault(eid, set()).add(category(code))
        m = s.manifests[s.manifests["departed_at"] < end]
        for col in ("producer_id", "receiver_id", "transporter_id"):
            for eid, code in zip(m[col], m["waste_code"], strict=True):
                out.setdefault(eid, set()).add(category(code))
        return out

    def nearest(self, lat, lon, among: list[str] | None = None) -> str | None:
        """The id of the nearest enterprise (of ``among`` if given and known) to a point."""
        if lat is None or lon is None or pd.isna(lat) or pd.isna(lon) or not len(self._ids):
            return None
        if among:
            known = [i for i in among if i in self.county_of]
            if known:
                sub = self.enterprises.loc[known]
                d = haversine_m(float(lat), float(lon), sub["lat"].to_numpy(float), sub["lon"].to_numpy(float))
                return str(known[int(np.argmin(d))])
        d = haversine_m(float(lat), float(lon), self._lat, self._lon)
        return str(self._ids[int(np.argmin(d))])

    def tip_county(self, county, enterprise_id, lat, lon) -> str | None:
        if isinstance(county, str) and county.strip():
            return county.strip()
        if isinstance(enterprise_id, str) and self.county_of.get(enterprise_id):
            return self.county_of[enterprise_id]
        near = self.nearest(lat, lon)
        return self.county_of.get(near) if near else None

    def site_county(self, lat, lon, enterprise_ids: list[str]) -> str | None:
        near = self.nearest(lat, lon, among=enterprise_ids)
        return self.county_of.get(near) if near else None
