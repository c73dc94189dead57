"""The chain the action plan asks to follow (来源可查、流向可追、责任可究), both ways: producer →
manifest → vehicle → stops → site, and back.

- A vehicle: its carrier and permit, its driving events (``features.driving``: speeding, fatigue,
  restricted zones, the terminal silent, carrying without a permit) with time and place, its stops
  (night, near water or karst, loaded), the manifests it carried, the producers and receivers it
  served, and its rank in the vehicle list (``features.vehicle_leads``, the list ``hazleads score``
  writes as ``vehicle_leads.csv``), all at the date of the features being served.
- A site: the vehicles that stopped there and the manifests each had departed in the hours before.
- An enterprise: the vehicles that carried its waste, the receivers, the sites those vehicles
  stopped at while carrying it.

Jurisdiction. A vehicle belongs to every county it touched: where its events and off-site stops were
(the county of the nearest registered enterprise, as for sites), its carrier's, and those of the
parties of the manifests it carried. County readers list the vehicles with events in their county
(ranked among them) and may open any vehicle of theirs, whose events and stops are shown wherever
they were (they are the vehicle's); ids and names of other counties' enterprises are left out (None)
or masked in text through the reader's ``Scope``, as everywhere, and a stop is tied to a candidate
site only where the site is the reader's."""

from __future__ import annotations

import json
import threading

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from features.geo import LocalProjection
from features.vehicle_leads import COUNT_COLUMNS, ranked_vehicles
from serving import evidence, lookup
from serving.scope import Scope

CHAIN_HOURS = 48.0  # manifests that departed this long before a stop are where its load may have come from
MAX_ROWS = 200  # events, stops and manifests shown of one vehicle (most recent or most suspicious first)
MAX_OTHERS = 50  # the carrier's other vehicles named on a vehicle's page
CATEGORY_TEXT = {"speeding": ("超速", "speeding"), "fatigue": ("疲劳驾驶", "fatigue"),
                 "restricted": ("禁限行区域行驶", "restricted zone"), "silent": ("终端离线（GPS 中断）", "terminal silent (GPS gap)"),
                 "unpermitted": ("无资质承运危险废物", "carrying without a hazmat permit")}


class VehicleIndex:
    """Per features object: the ranked vehicle list and the counties each vehicle touched."""

    def __init__(self, fs, snap, ctx) -> None:
        self.as_of = fs.as_of
        ents = ctx.enterprises
        proj = LocalProjection.around(ents["lat"].to_numpy(float), ents["lon"].to_numpy(float))
        self._proj = proj
        self._tree = cKDTree(np.column_stack(proj.xy(ents["lat"].to_numpy(float), ents["lon"].to_numpy(float))))
        self._ent_county = np.array([ctx.county_of.get(i) for i in ents.index], dtype=object)
        drv = fs.driving
        self.events = drv.events if drv is not None else pd.DataFrame(columns=["vehicle_id", "lat", "lon"])
        self.ranked = ranked_vehicles(drv.vehicle, fs.as_of).set_index("vehicle_id") if drv is not None else pd.DataFrame()
        self.carrier = drv.carrier if drv is not None else pd.DataFrame()
        self.event_counties = self._counties(self.events)
        self.events_by_vehicle = lookup.positions_by(self.events["vehicle_id"].astype(str))
        stops = fs.stops if fs.stops is not None else pd.DataFrame(columns=["vehicle_id", "lat", "lon"])
        off = stops[~stops["registered"].fillna(False).astype(bool)] if "registered" in stops else stops
        self.counties: dict[str, set[str]] = {v: set(c) for v, c in self.event_counties.items()}
        for v, c in self._counties(off).items():
            self.counties.setdefault(v, set()).update(c)
        veh = snap.vehicles
        _add_pairs(self.counties, veh["vehicle_id"].astype(str), _county_of(veh["transporter_id"].astype(str), ctx.county_of))
        m = fs.manifest_checks
        vids = m["vehicle_id"].astype(str)
        for col in ("producer_id", "transporter_id", "receiver_id"):
            # by column, not by manifest: the city's 0.4 s of Python a row was the first detail page's wait
            _add_pairs(self.counties, vids, _county_of(m[col], ctx.county_of))
        self.known = set(veh["vehicle_id"].astype(str))

    def county_at(self, lat, lon) -> np.ndarray:
        """The county of the nearest registered enterprise to each point (None where unknown)."""
        lat, lon = np.asarray(lat, float), np.asarray(lon, float)
        out = np.full(len(lat), None, dtype=object)
        ok = np.isfinite(lat) & np.isfinite(lon)
        if ok.any() and len(self._ent_county):
            _, idx = self._tree.query(np.column_stack(self._proj.xy(lat[ok], lon[ok])))
            out[ok] = self._ent_county[idx]
        return out

    def _counties(self, frame: pd.DataFrame) -> dict[str, set[str]]:
        if frame is None or frame.empty:
            return {}
        c = self.county_at(frame["lat"].to_numpy(float), frame["lon"].to_numpy(float))
        out: dict[str, set[str]] = {}
        _add_pairs(out, frame["vehicle_id"].astype(str), c)
        return out

    def visible(self, scope: Scope, vehicle_id: str) -> bool:
        return vehicle_id in self.known and (scope.city_wide or scope.county in self.counties.get(vehicle_id, set()))


def _county_of(ids: pd.Series, county_of: dict) -> np.ndarray:
    """The county of each enterprise id (None where unknown); a missing id has none, whatever the
    dict holds (``Series.map`` would match it to a missing key)."""
    return ids.map(county_of).where(ids.notna()).to_numpy(object)


def _add_pairs(out: dict[str, set[str]], vehicles: pd.Series, counties) -> None:
    """Add to ``out`` each vehicle's counties among the (vehicle, county) pairs of the rows, a
    county missing adding nothing; each distinct pair visited once."""
    pairs = pd.DataFrame({"v": vehicles.to_numpy(object), "c": np.asarray(counties, dtype=object)})
    pairs = pairs[pairs["c"].notna().to_numpy()].drop_duplicates()
    for v, county in zip(pairs["v"].tolist(), pairs["c"].tolist(), strict=True):
        out.setdefault(v, set()).add(county)


_lock = threading.Lock()
_indexes: dict[int, tuple[object, VehicleIndex]] = {}


def index_for(rt) -> VehicleIndex:
    """The vehicle index of the features being served: built when they were (``prepare``), else on first use."""
    return prepare(rt.features, rt.snapshot, rt.ctx)


def prepare(fs, snap, ctx) -> VehicleIndex:
    """The vehicle index of ``fs`` on ``snap`` (``ctx``: its ``SnapshotContext``), built once and
    kept: ``Runtime.serve_features`` builds it before the features are served (0.2 s at city
    scale), so that no page waits for it."""
    with _lock:
        hit = _indexes.get(id(fs))
        if hit is not None and hit[0] is fs:
            return hit[1]
    idx = VehicleIndex(fs, snap, ctx)
    with _lock:
        if len(_indexes) > 2:
            _indexes.clear()
        _indexes[id(fs)] = (fs, idx)
    return idx


# ---- the vehicle list -----------------------------------------------------------------------------


def vehicle_reasons(rt, scope: Scope, row, lang: str) -> list[str]:
    """The vehicle's reasons in ``lang``; the carrier's line left out where the carrier is not the reader's."""
    try:
        reasons = json.loads(row["reasons" if lang == "zh" else "reasons_en"] or "[]")
    except (TypeError, json.JSONDecodeError):
        reasons = []
    carrier = str(row.get("transporter_id") or "")
    if carrier and not scope.enterprise_ok(carrier):
        name = str(rt.ctx.enterprises.at[carrier, "name"]) if carrier in rt.ctx.enterprises.index else carrier
        reasons = [r for r in reasons if carrier not in r and name not in r]
    return [scope.text(r, lang) for r in reasons]


def vehicle_item(rt, scope: Scope, idx: VehicleIndex, vid: str, rank: int, lang: str) -> dict:
    row = idx.ranked.loc[vid]
    carrier = scope.enterprise_id(str(row["transporter_id"]) if pd.notna(row["transporter_id"]) else None)
    ents = rt.ctx.enterprises
    return {"rank": rank, "vehicle_id": vid, "score": float(row["score"]), "transporter_id": carrier,
            "transporter_name": str(ents.at[carrier, "name"]) if carrier and carrier in ents.index else None,
            "reasons": vehicle_reasons(rt, scope, row, lang),
            "counties": sorted(c for c in idx.event_counties.get(vid, set()) if scope.county_ok(c)),
            **{col: int(row[col]) for col in COUNT_COLUMNS.values()}, "event_count": int(row["event_count"])}


def vehicle_page(rt, scope: Scope, lang: str, county: str | None, min_score: float | None, limit: int, offset: int) -> dict:
    """The ranked vehicles the reader may see (county readers: those with events in their county,
    ranked among them), optionally of one county's events and above a score."""
    idx = index_for(rt)
    ranked = idx.ranked
    ids = [str(v) for v in ranked.index]
    want = scope.county if scope.county is not None else county
    if county is not None and not scope.county_ok(county):
        ids = []
    elif want is not None:
        ids = [v for v in ids if want in idx.event_counties.get(v, set())]
    if min_score is not None:
        ids = [v for v in ids if float(ranked.at[v, "score"]) >= min_score]
    page = ids[offset:offset + limit]
    return {"total": len(ids), "limit": limit, "offset": offset, "as_of": idx.as_of.date(),
            "items": [vehicle_item(rt, scope, idx, v, offset + i + 1, lang) for i, v in enumerate(page)]}


# ---- one vehicle ----------------------------------------------------------------------------------


def _rows(frame: pd.DataFrame) -> list[dict]:
    return [{k: evidence._v(v) for k, v in r.items()} for r in frame.to_dict("records")]


def event_rows(rt, idx: VehicleIndex, vid: str, lang: str) -> list[dict]:
    from serving.placenames import namer_for

    ev = idx.events.iloc[lookup.top_rows(idx.events, idx.events_by_vehicle.get(vid, lookup.EMPTY), "start", MAX_ROWS)]
    rows = _rows(ev)
    places = namer_for(rt.snapshot).describe_many([(r.get("lat"), r.get("lon")) for r in rows], lang)
    out = []
    for r, where in zip(rows, places, strict=True):
        names = CATEGORY_TEXT.get(r["category"], (r["category"], r["category"]))
        out.append({"event_id": str(r["event_id"]), "category": r["category"], "category_text": names[0 if lang == "zh" else 1],
                    "kind": r.get("kind"), "start": r["start"], "end": r["end"], "lat": r.get("lat"), "lon": r.get("lon"),
                    "place": r.get("place") or (where["text"] if where else None),
                    "value": r.get("value"), "limit": None if r.get("limit") is None else str(r["limit"]),
                    "unit": r.get("unit"), "manifest_id": r.get("manifest_id"), "distance_km": r.get("distance_km"),
                    "driver_id": r.get("driver_id")})
    return out


def partners(rt, scope: Scope, manifests: list[dict]) -> list[dict]:
    """The producers and receivers a vehicle's manifests name, with manifests and tonnes each (the reader's only)."""
    ents = rt.ctx.enterprises
    acc: dict[tuple[str, str], list[float]] = {}
    for m in manifests:
        for role in ("producer", "receiver"):
            eid = m.get(f"{role}_id")
            if eid is not None and scope.enterprise_ok(eid):
                a = acc.setdefault((role, eid), [0, 0.0])
                a[0] += 1
                a[1] += float(m.get("quantity_t") or 0.0)
    return [{"role": role, "enterprise_id": eid, "name": str(ents.at[eid, "name"]) if eid in ents.index else None,
             "county": rt.ctx.county_of.get(eid), "manifests": n, "tonnes": round(t, 1)}
            for (role, eid), (n, t) in sorted(acc.items(), key=lambda kv: (kv[0][0] != "producer", -kv[1][0], kv[0][1]))]


def vehicle_stops(rt, vid: str) -> list[dict]:
    fs = rt.features
    s = fs.stops
    if s is None or s.empty:
        return []
    return evidence.stop_rows_at(s, lookup.for_features(fs).stops_of_vehicle(vid), MAX_ROWS)


def vehicle_manifests(rt, vid: str) -> list[dict]:
    fs = rt.features
    m = fs.manifest_checks
    mine = m.iloc[lookup.top_rows(m, lookup.for_features(fs).manifests_of_vehicle(vid), "departed_at", MAX_ROWS)]
    rows = _rows(mine)
    for r in rows:
        r["flags"] = evidence.manifest_flags(r)
    return rows


def vehicle_map(rt, scope: Scope, vid: str, events: list[dict], stops: list[dict], manifests: list[dict],
                partner_rows: list[dict], max_tracks: int = 4) -> dict:
    from serving import geo

    feats = []
    ents = rt.ctx.enterprises
    for p in partner_rows:
        e = ents.loc[p["enterprise_id"]]
        feats.append(geo.point(e["lat"], e["lon"], layer="enterprise", role="partner", relation=p["role"], enterprise_id=p["enterprise_id"],
                               name=str(e["name"])))
    for s in stops:
        if s.get("why"):
            feats.append(geo.point(s["lat"], s["lon"], layer="stop", vehicle_id=vid,
                                   start=s["start"].isoformat() if s.get("start") else None, why=s["why"],
                                   manifest_id=s.get("manifest_id")))
    for e in events:
        if e.get("lat") is not None and e.get("lon") is not None:
            feats.append(geo.point(e["lat"], e["lon"], layer="event", category=e["category"], event_id=e["event_id"],
                                   start=e["start"].isoformat() if e.get("start") else None))
    for m in manifests[:max_tracks]:
        end = m.get("received_at") or (m["departed_at"] + pd.Timedelta(hours=24) if m.get("departed_at") else None)
        feats.append(evidence.track(rt.snapshot, vid, m.get("departed_at"), end, manifest_id=m["manifest_id"]))
    pts = [f for f in feats if f and f["geometry"]["type"] == "Point"]
    if pts:
        feats.extend(geo.places_near(rt.snapshot.places, [f["geometry"]["coordinates"][1] for f in pts],
                                     [f["geometry"]["coordinates"][0] for f in pts],
                                     meeting=lookup.for_snapshot(rt.snapshot).places_meeting))
    return geo.collection([f for f in feats if f])


# ---- site and enterprise ------------------------------------------------------------------------


def sources_before(rt, scope: Scope, stops: list[dict], lang: str) -> list[dict]:
    """For each stop: the manifests its vehicle had departed within ``CHAIN_HOURS`` before it (and
    the one it was loaded under), with their producers: where what it may have left came from."""
    from features.codes import waste_text

    fs = rt.features
    m = fs.manifest_checks
    look = lookup.for_features(fs)
    departed, manifest_ids = look.manifest_departed, look.manifest_ids
    chosen = []  # per stop: rows of ``m``, latest first
    for st in stops:
        start = pd.Timestamp(st["start"])
        rows = look.manifests_of_vehicle(st["vehicle_id"])
        when = departed[rows]
        keep = (when <= np.datetime64(start)) & ((when >= np.datetime64(start - pd.Timedelta(hours=CHAIN_HOURS)))
                                                 | (manifest_ids[rows] == st.get("manifest_id")))
        latest = pd.DataFrame({"departed_at": when[keep]}).sort_values("departed_at", ascending=False).head(10)
        chosen.append(rows[keep][latest.index.to_numpy()])
    union = np.unique(np.concatenate(chosen)) if chosen else lookup.EMPTY
    row_of = dict(zip(union.tolist(), _rows(m.iloc[union]), strict=True))  # each manifest's row made once
    name_of = rt.ctx.name_of
    out = []
    for st, picked in zip(stops, chosen, strict=True):
        start = pd.Timestamp(st["start"])
        rows = []
        for r in (row_of[i] for i in picked.tolist()):
            pid = scope.enterprise_id(r.get("producer_id"))
            rows.append({"manifest_id": r["manifest_id"], "departed_at": r["departed_at"], "waste_code": r["waste_code"],
                         "waste_text": waste_text(r["waste_code"], lang), "quantity_t": r.get("quantity_t"),
                         "producer_id": pid, "producer_name": name_of.get(pid) if pid is not None else None,
                         "hours_before": round((start - pd.Timestamp(r["departed_at"])).total_seconds() / 3600.0, 1)})
        out.append({"vehicle_id": st["vehicle_id"], "stop_start": st["start"], "manifests": rows})
    return out


def enterprise_chain(rt, scope: Scope, enterprise_id: str, manifests: list[dict], stops: list[dict]) -> dict:
    """The vehicles that carried its waste, its receivers, and the sites its vehicles stopped at
    while carrying it (``stops``: scoped and tied to sites by ``serving.readable.stops``)."""
    # the driving scores (the service runs the driving rules when it builds the features it serves,
    # so this waits for nothing; an answer must not depend on which page was read first)
    drv = getattr(rt.features, "driving", None)
    ranked = index_for(rt).ranked if drv is not None else pd.DataFrame(columns=["score"])
    ents = rt.ctx.enterprises
    veh: dict[str, list[float]] = {}
    recv: dict[str, list[float]] = {}
    for m in manifests:
        a = veh.setdefault(str(m["vehicle_id"]), [0, 0.0])
        a[0] += 1
        a[1] += float(m.get("quantity_t") or 0.0)
        rid = m.get("receiver_id")
        if m.get("producer_id") == enterprise_id and rid is not None:
            b = recv.setdefault(rid, [0, 0.0])
            b[0] += 1
            b[1] += float(m.get("quantity_t") or 0.0)
    sites: dict[str, set[str]] = {}
    for s in stops:
        if s.get("site_id"):
            sites.setdefault(s["site_id"], set()).add(s["vehicle_id"])
    score = lambda v: float(ranked.at[v, "score"]) if v in ranked.index else None  # noqa: E731
    return {
        "vehicles": [{"vehicle_id": v, "manifests": n, "tonnes": round(t, 1), "driving_score": score(v)}
                     for v, (n, t) in sorted(veh.items(), key=lambda kv: -kv[1][0])],
        "receivers": [{"enterprise_id": r, "name": str(ents.at[r, "name"]) if r in ents.index else None,
                       "manifests": n, "tonnes": round(t, 1)} for r, (n, t) in sorted(recv.items(), key=lambda kv: -kv[1][1])],
        "sites": [{"site_id": sid, "vehicle_ids": sorted(v)} for sid, v in sorted(sites.items())],
    }


def rank_for(scope: Scope, idx: VehicleIndex, vid: str) -> int:
    """The vehicle's rank in the list the reader sees (county readers: among their county's vehicles;
    a vehicle of theirs without events there is ranked after all that have them)."""
    ids = [str(v) for v in idx.ranked.index]
    if scope.county is not None:
        mine = [v for v in ids if scope.county in idx.event_counties.get(v, set())]
        return mine.index(vid) + 1 if vid in mine else len(mine) + 1
    return ids.index(vid) + 1
