"""Scoring at a date: the champion models over a snapshot -> the lead files (contract §4).

A ``LeadSet`` holds the lists with everything the service stores beside them (English reasons,
the exploration flag and inclusion probability, model versions, the snapshot digest); ``write``
puts exactly the contract's columns in the CSV files.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from features.build import FeatureSet, build
from features.catalogue import CATALOGUE, EVIDENCE_SEP
from features.ledgers import MISMATCH_COLUMNS
from features.snapshot import Snapshot
from features.vehicle_leads import LEAD_COLUMNS, ranked_vehicles
from models.explain import worth_saying
from models.exploration import exploration_seed, order_with_exploration

Progress = Callable[[str], None]

CONTRACT_COLUMNS = {
    "enterprise": ["as_of", "enterprise_id", "score", "rank", "reasons"],
    "tip": ["as_of", "tip_id", "score", "rank", "reasons", "enterprise_ids", "vehicle_ids"],
    "site": ["as_of", "site_id", "lat", "lon", "score", "rank", "reasons", "vehicle_ids"],
    "vehicle": LEAD_COLUMNS,  # ranked by the driving rules (features.vehicle_leads), not by a model
}
FILES = {"enterprise": "enterprise_leads.csv", "tip": "tip_leads.csv", "site": "site_leads.csv", "vehicle": "vehicle_leads.csv"}


@dataclass
class LeadSet:
    as_of: pd.Timestamp
    enterprise: pd.DataFrame
    tip: pd.DataFrame
    site: pd.DataFrame
    ledger_mismatch: pd.DataFrame
    model_versions: dict[str, str]
    snapshot_digest: str
    site_scoring: str = "rules"
    features: FeatureSet | None = field(default=None, repr=False)
    vehicle: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=LEAD_COLUMNS))  # ranked_vehicles
    carrier: pd.DataFrame = field(default_factory=pd.DataFrame)  # driving totals by transporter_id

    def write(self, out: str | Path) -> list[Path]:
        """The five files of contract §4, UTF-8 CSV with a header, written atomically."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        paths = []
        for kind, frame in (("enterprise", self.enterprise), ("tip", self.tip), ("site", self.site), ("vehicle", self.vehicle)):
            paths.append(_write_csv(frame.reindex(columns=CONTRACT_COLUMNS[kind]), out / FILES[kind]))
        paths.append(_write_csv(self.ledger_mismatch.reindex(columns=MISMATCH_COLUMNS), out / "ledger_mismatch.csv"))
        return paths


def _write_csv(frame: pd.DataFrame, path: Path) -> Path:
    tmp = path.with_suffix(".csv.tmp")
    frame.to_csv(tmp, index=False, encoding="utf-8", float_format="%.6g")
    tmp.replace(path)
    return path


def explain(model, frame: pd.DataFrame) -> tuple[list[list[str]], list[list[str]]]:
    """Reasons in Chinese and English, from one computation of the contributions where the model allows."""
    if hasattr(model, "explain"):
        return model.explain(frame)
    return model.reasons(frame, "zh"), model.reasons(frame, "en")


def _reasons_json(reasons: list[str]) -> str:
    return json.dumps(reasons, ensure_ascii=False)


def exploration_note(lang: str, rank: int, prob: float) -> str:
    if lang == "zh":
        return f"探索性抽样：模型排名第{rank}位，入选概率{prob:.0%}（用于持续学习）"
    return f"exploration draw: model rank {rank}, inclusion probability {prob:.0%} (keeps the model learning)"


def ranked_list(ids: pd.Series, scores: np.ndarray, reasons_zh: list[list[str]], reasons_en: list[list[str]],
                k: int, share: float, seed: int) -> pd.DataFrame:
    """Order by score with the exploration draw, and attach reasons (exploration noted as a reason)."""
    order = order_with_exploration(ids.reset_index(drop=True), pd.Series(scores), k, share, seed)
    model_rank = {i: r for r, i in enumerate(pd.DataFrame({"id": ids.to_numpy(), "s": scores})
                                             .sort_values(["s", "id"], ascending=[False, True])["id"], start=1)}
    rz = dict(zip(ids, reasons_zh, strict=True))
    re_ = dict(zip(ids, reasons_en, strict=True))
    zh, en = [], []
    for i, exp, p in zip(order["id"], order["exploration"], order["inclusion_prob"], strict=True):
        a, b = list(rz[i]), list(re_[i])
        if exp:
            a.append(exploration_note("zh", model_rank[i], p))
            b.append(exploration_note("en", model_rank[i], p))
        zh.append(_reasons_json(a))
        en.append(_reasons_json(b))
    order["reasons"] = zh
    order["reasons_en"] = en
    order["model_rank"] = order["id"].map(model_rank)
    return order


def site_reasons(site: pd.DataFrame, lang: str) -> list[list[str]]:
    """Rule-scored sites: the site features worth saying, strongest (most extreme) first."""
    specs = [s for s in CATALOGUE.values() if s.entity == "site" and s.name in site.columns and s.direction != 0]
    out = []
    for _, row in site.iterrows():
        said = []
        for spec in specs:
            v = row[spec.name]
            if pd.notna(v) and worth_saying(spec.name, float(v)):
                ev = {c.split(EVIDENCE_SEP, 1)[1]: row[c] for c in site.columns if c.startswith(spec.name + EVIDENCE_SEP)}
                said.append(spec.render(float(v), ev, lang))
        out.append(said[:4] or (["多次停留的可疑地点"] if lang == "zh" else ["repeated stops at an unregistered place"]))
    return out


def score_snapshot(snapshot: Snapshot, as_of, enterprise_model, tip_model, versions: dict[str, str], digest: str,
                   k: int = 20, share: float = 0.10, features: FeatureSet | None = None,
                   progress: Progress | None = None, driving=None) -> LeadSet:
    """Score every enterprise, open tip and candidate site at ``as_of`` with the given (champion) models,
    and rank the vehicles by their driving (``driving``: ``features.driving.DrivingParams``, default limits)."""
    fs = features or build(snapshot, as_of, progress=progress, **({"driving": driving} if driving is not None else {}))
    day = fs.as_of
    as_of_s = day.strftime("%Y-%m-%d")
    ent = fs.enterprise
    p = enterprise_model.predict_proba(ent)[:, 1]
    ez, een = explain(enterprise_model, ent)
    order = ranked_list(pd.Series(ent.index), p, ez, een,
                        k, share, exploration_seed(versions.get("enterprise"), digest, as_of_s, "enterprise"))
    enterprise = order.rename(columns={"id": "enterprise_id"}).assign(as_of=as_of_s)
    tips = _open_tips(fs, snapshot, day)
    if len(tips) and tip_model is None:  # no tip model registered yet: the corroboration rules rank them
        from models.baselines import TIP_RULES
        from models.fallback import RuleLeadModel

        tip_model = RuleLeadModel(TIP_RULES, anomaly_weight=0.0, graded=True).fit(tips)
    if len(tips):
        pt = tip_model.predict_proba(tips)[:, 1]
        rz, ren = explain(tip_model, tips)
    else:
        pt = np.zeros(0)
        rz = ren = []
    torder = ranked_list(pd.Series(tips.index), pt, rz, ren, k, share,
                         exploration_seed(versions.get("tip"), digest, as_of_s, "tip"))
    t_ent = tips.get("tip_names_enterprise@enterprise_ids", pd.Series("", index=tips.index)).fillna("")
    t_veh = tips.get("tip_stops_nearby_14d@vehicle_ids", pd.Series("", index=tips.index)).fillna("")
    tip = torder.rename(columns={"id": "tip_id"}).assign(as_of=as_of_s)
    tip["enterprise_ids"] = tip["tip_id"].map(t_ent).fillna("")
    tip["vehicle_ids"] = tip["tip_id"].map(t_veh).fillna("")
    site_f = fs.site
    if len(site_f):
        sorder = ranked_list(pd.Series(site_f.index), site_f["score"].to_numpy(float), site_reasons(site_f, "zh"),
                             site_reasons(site_f, "en"), k, 0.0, 0)
        site = sorder.rename(columns={"id": "site_id"}).assign(as_of=as_of_s)
        for c in ("lat", "lon", "vehicle_ids", "enterprise_ids"):
            site[c] = site["site_id"].map(site_f[c]) if c in site_f else ""
    else:
        site = pd.DataFrame(columns=[*CONTRACT_COLUMNS["site"], "enterprise_ids", "exploration", "inclusion_prob", "reasons_en"])
    return LeadSet(day, enterprise, tip, site, fs.ledger_mismatch, dict(versions), digest, "rules", fs,
                   vehicle=ranked_vehicles(fs.driving.vehicle, day), carrier=fs.driving.carrier)


def _open_tips(fs: FeatureSet, snapshot: Snapshot, day: pd.Timestamp) -> pd.DataFrame:
    """Tips known at ``day`` that no case has taken up yet (a case opened on or before ``day``)."""
    c = snapshot.cases
    taken = set(c.loc[c["tip_id"].notna() & (c["opened"] <= day), "tip_id"])
    return fs.tip[~fs.tip.index.isin(taken)]


def score_tip(tip: dict, snapshot: Snapshot, features: FeatureSet, tip_model, lang: str = "zh",
              places=None, gazetteer=None) -> dict:
    """Score one new tip at intake, against the evidence of the latest feature set.

    ``tip`` has the contract's tip columns (tip_id, received_at, channel, text, and optionally lat,
    lon, county, enterprise_id). Returns score, reasons (zh and en), the enterprises and vehicles it
    points at, and the corroboration an investigator reads first. ``places`` and ``gazetteer`` are
    the snapshot's place index and gazetteer when the caller keeps them (made here otherwise).
    """
    from features.build import NAMED, gazetteer_of, place_index
    from features.tips import CORROBORATION_DAYS, tip_features

    received = pd.Timestamp(tip["received_at"])
    if received.tzinfo is not None:
        received = received.tz_convert("Asia/Shanghai").tz_localize(None)
    row = {c: tip.get(c) for c in ("tip_id", "channel", "text", "lat", "lon", "county", "enterprise_id")}
    row["received_at"] = received
    one = pd.DataFrame([row])
    for c in ("lat", "lon"):
        one[c] = pd.to_numeric(one[c], errors="coerce").astype("float64")
    from features.tip_groups import TEXT_DAYS

    # only tips that can be repeats of this one matter for its features (the 30 days before; none later)
    window = pd.Timedelta(days=TEXT_DAYS)
    known_tips = snapshot.tips[(snapshot.tips["received_at"] <= received) & (snapshot.tips["received_at"] >= received - window)]
    both = pd.concat([known_tips, one.astype({"received_at": "datetime64[ns]"})], ignore_index=True)
    stops = features.stops
    offsite = stops[~stops["registered"]] if len(stops) and "registered" in stops else stops
    tf = tip_features(both, snapshot.enterprises, places or place_index(snapshot), offsite, received,
                      gazetteer if gazetteer is not None else gazetteer_of(snapshot),
                      snapshot.vehicles["vehicle_id"].to_numpy())
    frame = tf.loc[[row["tip_id"]]].copy()
    ent = features.enterprise
    named_id = frame["tip_names_enterprise@enterprise_id"].iloc[0]
    for f in NAMED:
        frame[f"named_{f}"] = float(ent.at[named_id, f]) if named_id in ent.index and f in ent else np.nan
    for c in ("channel", "text", "county", "lat", "lon", "enterprise_id", "received_at"):
        frame[c] = row[c]
    if tip_model is not None:
        score = float(tip_model.predict_proba(frame)[:, 1][0])
        zh, en = explain(tip_model, frame)
        reasons_zh, reasons_en = zh[0], en[0]
    else:
        score, reasons_zh, reasons_en = float("nan"), [], []
    plat, plon = frame["tip_place_named@lat"].iloc[0], frame["tip_place_named@lon"].iloc[0]
    radius = frame["tip_place_named@radius_m"].iloc[0]
    near = _stops_near(offsite, plat, plon, received, radius_m=float(radius) if pd.notna(radius) else 2000.0,
                       days=CORROBORATION_DAYS)
    corroboration = {
        "stops_nearby": near,
        "similar_tips": int(frame["tip_similar_14d"].iloc[0]),
        "named_enterprise": None,
    }
    eid = named_id
    if eid and eid in ent.index:
        corroboration["named_enterprise"] = {
            "enterprise_id": eid,
            **{f: (None if pd.isna(ent.at[eid, f]) else float(ent.at[eid, f])) for f in NAMED if f in ent},
        }
    vehicles = sorted({s["vehicle_id"] for s in near})
    enterprises = frame["tip_names_enterprise@enterprise_ids"].iloc[0] if "tip_names_enterprise@enterprise_ids" in frame else ""
    return {"tip_id": row["tip_id"], "score": score, "reasons": reasons_zh, "reasons_en": reasons_en,
            "enterprise_ids": enterprises or "", "vehicle_ids": ";".join(vehicles), "corroboration": corroboration}


def _stops_near(stops: pd.DataFrame, lat, lon, when: pd.Timestamp, radius_m: float = 2000.0, days: int = 7, limit: int = 20) -> list[dict]:
    from features.geo import haversine_m

    if lat is None or lon is None or pd.isna(lat) or pd.isna(lon) or stops is None or stops.empty:
        return []
    s = stops[(stops["start"] <= when) & (stops["start"] >= when - pd.Timedelta(days=days))]
    if s.empty:
        return []
    d = haversine_m(float(lat), float(lon), s["lat"].to_numpy(float), s["lon"].to_numpy(float))
    s = s.assign(distance_m=d)[d <= radius_m].sort_values("distance_m").head(limit)
    return [{"vehicle_id": str(r.vehicle_id), "start": r.start.isoformat(), "end": r.end.isoformat(),
             "lat": float(r.lat), "lon": float(r.lon), "distance_m": round(float(r.distance_m), 1),
             "night": bool(getattr(r, "night", False))} for r in s.itertuples()]
