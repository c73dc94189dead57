"""The evidence behind a lead, read from the feature set at the latest as-of date and the snapshot:
an enterprise's manifests with what is wrong with them, the suspicious stops of the vehicles that
carried its waste, its power use against declared waste, and the maps. Plain dicts out."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from serving import geo, lookup

SHRINK_SHARE = 0.02
SITE_RADIUS_M = 400.0
TRACK_POINTS = 400


def _v(x):
    """A JSON-able scalar: NaN/NaT -> None, numpy -> Python."""
    if x is None or x is pd.NaT:
        return None
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and math.isnan(x):
        return None
    if isinstance(x, pd.Timestamp):
        return x.to_pydatetime()
    try:
        if pd.isna(x):
            return None
    except (TypeError, ValueError):
        pass
    return x


def manifest_flags(r: dict) -> list[str]:
    flags = []
    if r.get("receiver_licence") not in (None, "valid"):
        flags.append(f"receiver_licence_{r['receiver_licence']}")
    if r.get("transport_licence") not in (None, "valid"):
        flags.append(f"transport_licence_{r['transport_licence']}")
    if _v(r.get("hazmat_permit")) is False:
        flags.append("no_hazmat_permit")
    if _v(r.get("overdue")):
        flags.append("unconfirmed_30d")
    if _v(r.get("late")):
        flags.append("late_confirmation")
    if (_v(r.get("shrink_share")) or 0) > SHRINK_SHARE:
        flags.append("short_on_arrival")
    return flags


def manifests_of(fs, enterprise_id: str, limit: int = 200) -> tuple[int, list[dict]]:
    """The enterprise's manifests (as producer, carrier or receiver), flagged ones first, newest first."""
    mine = fs.manifest_checks.iloc[lookup.for_features(fs).manifests_of(enterprise_id)]
    rows = [{k: _v(v) for k, v in r.items()} for r in mine.to_dict("records")]
    for r in rows:
        r["flags"] = manifest_flags(r)
    rows.sort(key=lambda r: (not r["flags"], -(r["departed_at"].timestamp() if r.get("departed_at") else 0)))
    return len(rows), rows[:limit]


def stop_why(r: dict) -> list[str]:
    why = []
    if r.get("night"):
        why.append("night")
    if r.get("loaded"):
        why.append("loaded")
    if r.get("offbook"):
        why.append("offbook_pickup")
    if r.get("unpermitted_visit"):
        why.append("unpermitted_vehicle")
    if (r.get("water_m") or 1e9) < 300:
        why.append("near_water")
    if (r.get("karst_m") or 1e9) < 300:
        why.append("near_karst")
    if (r.get("protected_m") or 1e9) <= 0:
        why.append("protected_area")
    return why


def stop_rows_at(stops: pd.DataFrame, rows, limit: int) -> list[dict]:
    """The stops at ``rows``, the ``limit`` most suspicious first, with why each is suspicious."""
    return _stop_dicts(stops.iloc[lookup.top_rows(stops, rows, "suspicion", limit)])


def _stop_dicts(frame: pd.DataFrame) -> list[dict]:
    rows = [{k: _v(v) for k, v in r.items()} for r in frame.to_dict("records")]
    for r in rows:
        r["why"] = stop_why(r)
    return rows


def stops_of(fs, enterprise_id: str, limit: int = 50) -> list[dict]:
    """Off-site stops made while carrying its waste (or its manifests' receipts), and off-book
    pickups at it: the stops an investigator would check, most suspicious first."""
    s = fs.stops
    if s is None or s.empty:
        return []
    return stop_rows_at(s, lookup.for_features(fs).stops_of(enterprise_id), limit)


def stops_at(fs, lat: float, lon: float, limit: int = 100) -> list[dict]:
    """Off-site stops within ``SITE_RADIUS_M`` of a candidate site's centre."""
    s = fs.stops
    if s is None or s.empty or lat is None or lon is None:
        return []
    rows, _ = lookup.for_features(fs).offsite_near(lat, lon, SITE_RADIUS_M)
    return stop_rows_at(s, rows, limit)


def power_months(snapshot, enterprise_id: str, as_of) -> list[dict]:
    """Metered kWh per month against the waste declared generated that month (tonnes)."""
    end = pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)
    look = lookup.for_snapshot(snapshot)
    e = snapshot.electricity.iloc[look.electricity_of.get(enterprise_id, lookup.EMPTY)]
    e = e[e["date"] < end]
    kwh = e.groupby(e["date"].dt.to_period("M")).agg(kwh=("kwh", "sum"), night_kwh=("night_kwh", "sum"))
    led = snapshot.ledgers.iloc[look.ledgers_of.get(enterprise_id, lookup.EMPTY)]
    led = led[led["month"].dt.end_time < end]
    gen = led.groupby("month")["generated_t"].sum()
    months = sorted(set(kwh.index) | set(gen.index))
    return [{"month": str(m), "kwh": _v(kwh["kwh"].get(m)), "night_kwh": _v(kwh["night_kwh"].get(m)),
             "generated_t": _v(gen.get(m))} for m in months]


def track(snapshot, vehicle_id: str, start, end, **props) -> dict | None:
    """A vehicle's GPS track between two times, thinned to at most ``TRACK_POINTS`` points."""
    if start is None or end is None:
        return None
    sel = lookup.for_snapshot(snapshot).fixes_between(snapshot.trajectories, vehicle_id, start, end)
    if len(sel) < 2:
        return None
    step = max(1, len(sel) // TRACK_POINTS)
    sel = sel.iloc[::step]
    return geo.line(sel["lat"], sel["lon"], layer="track", vehicle_id=vehicle_id, **props)


def enterprise_map(rt, enterprise_id: str, manifests: list[dict], stops: list[dict], max_tracks: int = 8,
                   partner_ok=lambda _id: True) -> dict:
    """The enterprise, its partners (those ``partner_ok`` lets the reader see), the suspicious stops,
    the tracks of the trips concerned, nearby places."""
    ents = rt.ctx.enterprises
    feats = []
    me = ents.loc[enterprise_id]
    feats.append(geo.point(me["lat"], me["lon"], layer="enterprise", role="self", enterprise_id=enterprise_id,
                           name=str(me["name"])))
    partners = {p for m in manifests for p in (m["producer_id"], m["transporter_id"], m["receiver_id"])} - {enterprise_id}
    for pid in sorted(p for p in partners if p is not None and partner_ok(p))[:100]:
        if pid in ents.index:
            p = ents.loc[pid]
            feats.append(geo.point(p["lat"], p["lon"], layer="enterprise", role="partner", enterprise_id=pid,
                                   name=str(p["name"]), county=str(p["county"])))
    for s in stops:
        feats.append(geo.point(s["lat"], s["lon"], layer="stop", vehicle_id=s["vehicle_id"],
                               start=s["start"].isoformat() if s.get("start") else None,
                               manifest_id=s.get("manifest_id"), suspicion=s.get("suspicion"), why=s["why"]))
    by_id = {m["manifest_id"]: m for m in manifests}
    concerned = [m for m in dict.fromkeys(s.get("manifest_id") for s in stops if s.get("manifest_id")) if m in by_id]
    for mid in concerned[:max_tracks]:
        m = by_id[mid]
        end = m.get("received_at") or (m["departed_at"] + pd.Timedelta(hours=24) if m.get("departed_at") else None)
        feats.append(track(rt.snapshot, m["vehicle_id"], m.get("departed_at"), end, manifest_id=mid))
    lats = [me["lat"], *[s["lat"] for s in stops]]
    lons = [me["lon"], *[s["lon"] for s in stops]]
    feats.extend(geo.places_near(rt.snapshot.places, lats, lons, meeting=lookup.for_snapshot(rt.snapshot).places_meeting))
    return geo.collection(feats)


def site_map(rt, lat: float, lon: float, stops: list[dict], enterprise_ids: list[str]) -> dict:
    ents = rt.ctx.enterprises
    feats = [geo.point(lat, lon, layer="site")]
    for s in stops:
        feats.append(geo.point(s["lat"], s["lon"], layer="stop", vehicle_id=s["vehicle_id"],
                               start=s["start"].isoformat() if s.get("start") else None, why=s["why"]))
    for eid in enterprise_ids:
        if eid in ents.index:
            p = ents.loc[eid]
            feats.append(geo.point(p["lat"], p["lon"], layer="enterprise", role="linked", enterprise_id=eid,
                                   name=str(p["name"])))
    feats.extend(geo.places_near(rt.snapshot.places, [lat], [lon], meeting=lookup.for_snapshot(rt.snapshot).places_meeting))
    return geo.collection(feats)


def tip_corroboration(fs, tip: dict) -> dict:
    """For a snapshot tip: off-site stops near its place (its coordinates, or the place its words
    name) in the days before it, the other tips about the same event, the named enterprise's
    evidence (the same facts ``training.score.score_tip`` gives at intake)."""
    from features.tips import CORROBORATION_DAYS, CORROBORATION_RADIUS_M

    out: dict = {"stops_nearby": [], "similar_tips": None, "named_enterprise": None}
    t = fs.tip
    row = t.loc[tip["tip_id"]] if tip["tip_id"] in t.index else None
    if row is not None and "tip_similar_14d@group" in t and pd.notna(row["tip_similar_14d@group"]):
        # the other tips of its group (the caller counts those the reader may see: a count that
        # includes an informant's tip would say what the informant reported)
        group = t.index[t["tip_similar_14d@group"] == row["tip_similar_14d@group"]]
        out["similar_tip_ids"] = [str(i) for i in group if i != tip["tip_id"]]
    s = fs.stops
    lat, lon, radius_m = tip.get("lat"), tip.get("lon"), CORROBORATION_RADIUS_M
    if (lat is None or lon is None) and row is not None and pd.notna(row.get("tip_place_named@lat")):
        lat, lon = float(row["tip_place_named@lat"]), float(row["tip_place_named@lon"])
        radius_m = float(row["tip_place_named@radius_m"])
    when = pd.Timestamp(tip["received_at"])
    if lat is not None and lon is not None and s is not None and len(s):
        rows, d = lookup.for_features(fs).offsite_near(lat, lon, radius_m)
        start = s["start"].to_numpy()[rows]
        recent = (start <= np.datetime64(when)) & (start >= np.datetime64(when - pd.Timedelta(days=CORROBORATION_DAYS)))
        near = s.iloc[rows[recent]].assign(distance_m=d[recent]).sort_values("distance_m").head(20)
        out["stops_nearby"] = [{"vehicle_id": r.vehicle_id, "start": r.start.to_pydatetime(), "end": r.end.to_pydatetime(),
                                "lat": float(r.lat), "lon": float(r.lon), "distance_m": round(float(r.distance_m), 1),
                                "night": bool(getattr(r, "night", False))} for r in near.itertuples()]
    eid = tip.get("enterprise_id") or (row.get("tip_names_enterprise@enterprise_id") if row is not None else None)
    ent = fs.enterprise
    if eid and eid in ent.index:
        from features.build import NAMED

        out["named_enterprise"] = {"enterprise_id": eid, **{f: _v(ent.at[eid, f]) for f in NAMED if f in ent}}
    return out
