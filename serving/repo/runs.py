"""Scoring runs: storing a ``LeadSet`` (lists, ledger mismatch, snapshot tips) in one transaction,
and choosing the run a read refers to."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pandas as pd
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from features.catalogue import EVIDENCE_SEP
from features.ledgers import unaccounted_t
from serving.context import SnapshotContext, category, framed, split_ids
from serving.db.models import Lead, Mismatch, ScoringRun, Tip

MAX_EVIDENCE = 12  # evidence pointers kept per lead


def _num(v) -> float | None:
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) or math.isinf(f) else f


def _strip_exploration(reasons_json: str, exploration: bool) -> str:
    """Reasons without the scorer's exploration note: the service writes it per reader (county ranks)."""
    reasons = json.loads(reasons_json) if reasons_json else []
    if exploration and reasons:
        reasons = reasons[:-1]
    return json.dumps(reasons, ensure_ascii=False)


def evidence_of(row: pd.Series, columns: list[str]) -> str:
    """The evidence pointers (``feature@field``) of the features with a non-zero value, as JSON."""
    out: dict[str, dict] = {}
    for c in columns:
        feat, fld = c.split(EVIDENCE_SEP, 1)
        v = row.get(c)
        val = _num(row.get(feat))
        if v is None or (isinstance(v, float) and math.isnan(v)) or not val:
            continue
        if feat not in out:
            if len(out) >= MAX_EVIDENCE:
                continue
            out[feat] = {"value": val}
        out[feat][fld] = str(v)[:300]
    return json.dumps(out, ensure_ascii=False)


def _county_ranks(frame: pd.DataFrame, rank_col: str) -> np.ndarray:
    key = frame["county"].fillna("\x00")
    return frame.groupby(key)[rank_col].rank(method="first").astype(int).to_numpy()


def lead_rows(kind: str, frame: pd.DataFrame, ctx: SnapshotContext, cats: dict[str, set[str]],
              feats: pd.DataFrame | None) -> list[dict]:
    """Rows of the ``leads`` table for one list of a ``LeadSet``."""
    if frame is None or frame.empty:
        return []
    id_col = {"enterprise": "enterprise_id", "tip": "tip_id", "site": "site_id"}[kind]
    f = frame.copy()
    f["entity_id"] = f[id_col].astype(str)
    if kind == "enterprise":
        f["enterprise_ids"] = f["entity_id"]
        f["county"] = f["entity_id"].map(ctx.county_of)
    elif kind == "tip":
        t = feats if feats is not None else pd.DataFrame()
        f["county"] = [ctx.tip_county(*(t.at[i, c] if i in t.index and c in t else None
                                         for c in ("county", "enterprise_id", "lat", "lon"))) for i in f["entity_id"]]
    else:
        f["county"] = [ctx.site_county(la, lo, split_ids(ids)) for la, lo, ids in
                       zip(f["lat"], f["lon"], f.get("enterprise_ids", pd.Series("", index=f.index)), strict=True)]
    f["county_rank"] = _county_ranks(f, "rank")
    f["county_model_rank"] = _county_ranks(f, "model_rank") if "model_rank" in f else f["county_rank"]
    ev_cols = [c for c in (feats.columns if feats is not None else []) if EVIDENCE_SEP in c]
    rows = []
    for r in f.to_dict("records"):
        eid = r["entity_id"]
        ents = split_ids(r.get("enterprise_ids")) if kind != "enterprise" else [eid]
        exploration = bool(r.get("exploration", False))
        rows.append({
            "kind": kind, "entity_id": eid, "rank": int(r["rank"]), "county_rank": int(r["county_rank"]),
            "model_rank": int(r["model_rank"]) if _num(r.get("model_rank")) is not None else None,
            "county_model_rank": int(r["county_model_rank"]) if _num(r.get("county_model_rank")) is not None else None,
            "score": _num(r.get("score")) or 0.0, "exploration": exploration,
            "inclusion_prob": _num(r.get("inclusion_prob")), "county": r["county"],
            "name": str(ctx.enterprises.at[eid, "name"])[:200] if kind == "enterprise" and eid in ctx.enterprises.index else None,
            "industries": framed(ctx.industry_of.get(e) for e in ents)[:400],
            "categories": framed(c for e in ents for c in cats.get(e, ()))[:400],
            "lat": _num(r.get("lat")) if kind == "site" else (_num(ctx.enterprises.at[eid, "lat"]) if kind == "enterprise" else None),
            "lon": _num(r.get("lon")) if kind == "site" else (_num(ctx.enterprises.at[eid, "lon"]) if kind == "enterprise" else None),
            "enterprise_ids": ";".join(ents), "vehicle_ids": str(r.get("vehicle_ids") or ""),
            "reasons": _strip_exploration(r.get("reasons") or "[]", exploration),
            "reasons_en": _strip_exploration(r.get("reasons_en") or "[]", exploration),
            "evidence": evidence_of(feats.loc[eid], ev_cols) if feats is not None and eid in feats.index else "{}",
        })
    return rows


def mismatch_rows(frame: pd.DataFrame, ctx: SnapshotContext) -> list[dict]:
    if frame is None or frame.empty:
        return []
    f = frame.assign(unaccounted_t=unaccounted_t(frame).to_numpy())
    out = []
    for r in f.to_dict("records"):
        out.append({
            "enterprise_id": str(r["enterprise_id"]), "county": ctx.county_of.get(str(r["enterprise_id"])),
            "month": str(r["month"])[:7], "waste_code": str(r["waste_code"]), "category": category(r["waste_code"]),
            **{c: _num(r.get(c)) for c in ("generated_t", "accounted_t", "balance_gap_t", "manifest_gap_t",
                                           "receipt_gap_t", "power_gap_t")},
            "unaccounted_t": _num(r["unaccounted_t"]) or 0.0, "score": _num(r.get("score")) or 0.0,
        })
    return out


def store(session: Session, leads, ctx: SnapshotContext, trigger: str, duration_s: float, with_mismatch: bool) -> ScoringRun:
    """Store a ``LeadSet`` as one scoring run (inside the caller's transaction: all or nothing)."""
    as_of = pd.Timestamp(leads.as_of).date()
    cats = ctx.categories(leads.as_of)
    fs = leads.features
    rows = {
        "enterprise": lead_rows("enterprise", leads.enterprise, ctx, cats, fs.enterprise if fs else None),
        "tip": lead_rows("tip", leads.tip, ctx, cats, fs.tip if fs else None),
        "site": lead_rows("site", leads.site, ctx, cats, fs.site if fs else None),
    }
    mm = mismatch_rows(leads.ledger_mismatch, ctx) if with_mismatch else []
    run = ScoringRun(as_of=as_of, snapshot_digest=leads.snapshot_digest,
                     enterprise_version=leads.model_versions.get("enterprise") or None,
                     tip_version=leads.model_versions.get("tip") or None, site_scoring=leads.site_scoring,
                     trigger=trigger, duration_s=float(duration_s), n_enterprise=len(rows["enterprise"]),
                     n_tip=len(rows["tip"]), n_site=len(rows["site"]), n_mismatch=len(mm))
    session.add(run)
    session.flush()
    for kind_rows in rows.values():
        if kind_rows:
            session.execute(insert(Lead), [{**r, "run_id": run.id} for r in kind_rows])
    if mm:
        session.execute(insert(Mismatch), [{**r, "run_id": run.id} for r in mm])
    return run


def sync_snapshot_tips(session: Session, snapshot, ctx: SnapshotContext, tip_leads: pd.DataFrame, version: str | None) -> int:
    """Mirror the snapshot's tips in the ``tips`` table with their latest scores (intake tips untouched)."""
    session.execute(delete(Tip).where(Tip.source == "snapshot"))
    t = snapshot.tips
    if t.empty:
        return 0
    scored = tip_leads.set_index("tip_id") if tip_leads is not None and len(tip_leads) else pd.DataFrame()
    taken = set(session.scalars(select(Tip.tip_id).where(Tip.source != "snapshot")))
    rows = []
    for r in t.to_dict("records"):
        tid = str(r["tip_id"])
        if tid in taken:  # an intake id never collides by construction; be safe anyway
            continue
        s = scored.loc[tid] if tid in scored.index else None
        rows.append({
            "tip_id": tid, "source": "snapshot", "received_at": pd.Timestamp(r["received_at"]).to_pydatetime(), "channel": str(r["channel"]),
            "text": str(r["text"]), "lat": _num(r.get("lat")), "lon": _num(r.get("lon")),
            "county": r.get("county") if isinstance(r.get("county"), str) else None,
            "jurisdiction": ctx.tip_county(r.get("county"), r.get("enterprise_id"), r.get("lat"), r.get("lon")),
            "enterprise_id": r.get("enterprise_id") if isinstance(r.get("enterprise_id"), str) else None,
            "score": _num(s["score"]) if s is not None else None, "model_version": version if s is not None else None,
            "reasons": s["reasons"] if s is not None else "[]", "reasons_en": s["reasons_en"] if s is not None else "[]",
            "enterprise_ids": str(s["enterprise_ids"] or "") if s is not None else "",
            "vehicle_ids": str(s["vehicle_ids"] or "") if s is not None else "", "corroboration": "{}",
            "created_by": None, "created_at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
        })
    session.execute(insert(Tip), rows)
    return len(rows)


def current_run(session: Session, digest: str | None, as_of: dt.date | None = None, kind: str | None = None) -> ScoringRun | None:
    """The newest run of this snapshot for ``as_of`` (default: its latest as-of date); with
    ``kind="mismatch"``, the newest run that stored the ledger mismatch."""
    if digest is None:
        return None
    q = select(ScoringRun).where(ScoringRun.snapshot_digest == digest)
    if kind == "mismatch":
        q = q.where(ScoringRun.n_mismatch > 0)
    if as_of is not None:
        q = q.where(ScoringRun.as_of == as_of)
    return session.scalars(q.order_by(ScoringRun.as_of.desc(), ScoringRun.id.desc()).limit(1)).first()


def runs(session: Session, digest: str | None, limit: int = 100) -> list[ScoringRun]:
    q = select(ScoringRun)
    if digest is not None:
        q = q.where(ScoringRun.snapshot_digest == digest)
    return list(session.scalars(q.order_by(ScoringRun.id.desc()).limit(limit)))


def has_run(session: Session, digest: str, as_of: dt.date, versions: dict[str, str | None]) -> bool:
    def same(col, v):
        return col.is_(None) if v is None else col == v

    q = select(ScoringRun.id).where(ScoringRun.snapshot_digest == digest, ScoringRun.as_of == as_of,
                                    same(ScoringRun.enterprise_version, versions.get("enterprise")),
                                    same(ScoringRun.tip_version, versions.get("tip")))
    return session.scalars(q.limit(1)).first() is not None
