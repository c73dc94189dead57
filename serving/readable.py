"""The detail answers made readable for an officer: evidence rows with units and names
(``serving.present_units``), manifests with their waste category and the parties' names, stops and
sites named after the places near them (``serving.placenames``), each stop tied to the candidate
site it belongs to. Everything goes through the reader's ``Scope``: names only of enterprises the
reader may see, sites only of the reader's county."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.codes import category_name, industry_text, waste_text
from features.geo import haversine_m
from serving.placenames import namer_for
from serving.present_units import evidence_rows
from serving.scope import Scope, tokens

SITE_RADIUS_M = 400.0  # a stop within this of a candidate site's centre belongs to it (serving.evidence)


def enterprise_names(rt, scope: Scope, ids) -> dict[str, str]:
    """Names of the enterprises among ``ids`` that the reader may see."""
    ents = rt.ctx.enterprises
    return {i: str(ents.at[i, "name"]) for i in set(ids) if i in ents.index and scope.enterprise_ok(i)}


def readable_evidence(rt, scope: Scope, evidence: dict, lang: str) -> dict:
    """``evidence`` (already scoped) as labelled rows, the enterprises it names by name."""
    words = {t for fields in evidence.values() for v in fields.values() if isinstance(v, str) for t in tokens(v)}
    return evidence_rows(evidence, lang, enterprise_names(rt, scope, words))


def manifests(rt, scope: Scope, rows: list[dict], lang: str) -> list[dict]:
    """Manifest rows (parties already scoped) with the waste category's name and the parties' names."""
    name_of = rt.ctx.name_of
    out = []
    for m in rows:
        extra = {"waste_text": waste_text(m.get("waste_code"), lang)}
        for role in ("producer", "transporter", "receiver"):
            eid = m.get(f"{role}_id")
            extra[f"{role}_name"] = name_of.get(eid) if eid is not None else None
        out.append({**m, **extra})
    return out


def site_table(session, run) -> pd.DataFrame:
    """The candidate sites of a stored list (``run``), with the county the list files each under."""
    from sqlalchemy import select

    from serving.db.models import Lead

    if run is None:
        return pd.DataFrame(columns=["lat", "lon", "county"])
    rows = session.execute(select(Lead.entity_id, Lead.lat, Lead.lon, Lead.county)
                           .where(Lead.run_id == run.id, Lead.kind == "site")).all()
    frame = pd.DataFrame(rows, columns=["site_id", "lat", "lon", "county"]).set_index("site_id")
    return frame[frame["lat"].notna() & frame["lon"].notna()]


class SiteFinder:
    """The nearest candidate site within ``SITE_RADIUS_M`` of a point that the reader may see, among
    ``sites`` (``site_table``); the table's columns taken once for all the points of a page."""

    def __init__(self, sites: pd.DataFrame, scope: Scope) -> None:
        self.scope = scope
        self.ids = [str(i) for i in sites.index]
        self.lat, self.lon = sites["lat"].to_numpy(float), sites["lon"].to_numpy(float)
        self.county = sites["county"].tolist()

    def __call__(self, lat, lon) -> str | None:
        if not self.ids or lat is None or lon is None:
            return None
        d = haversine_m(float(lat), float(lon), self.lat, self.lon)
        order = np.argsort(d)
        for i in order[:3]:
            if d[i] > SITE_RADIUS_M:
                break
            if self.scope.county_ok(self.county[i]):
                return self.ids[i]
        return None


def site_of(sites: pd.DataFrame, scope: Scope, lat, lon) -> str | None:
    """The nearest candidate site within ``SITE_RADIUS_M`` of a point that the reader may see."""
    return SiteFinder(sites, scope)(lat, lon)


def stops(rt, scope: Scope, rows: list[dict], lang: str, sites: pd.DataFrame) -> list[dict]:
    """Stop rows with the places near them and the candidate site (of ``sites``: ``site_table``) each belongs to."""
    where = namer_for(rt.snapshot).describe_many([(r.get("lat"), r.get("lon")) for r in rows], lang)
    site = SiteFinder(sites, scope)
    return [{**r, "place": w["text"] if w else None, "site_id": site(r.get("lat"), r.get("lon"))}
            for r, w in zip(rows, where, strict=True)]


def place_text(rt, lat, lon, lang: str) -> str | None:
    where = namer_for(rt.snapshot).describe(lat, lon, lang)
    return where["text"] if where else None


def profile_texts(profile: dict, lang: str) -> dict:
    """The industry as code and name, the categories with their names."""
    cats = profile.get("categories") or []
    return {"industry_text": industry_text(profile.get("industry_code"), lang),
            "category_texts": [f"{c} {category_name(c, lang)}".strip() for c in cats]}
