"""Rows -> response dicts, applying the reader's view: language, county ranks, redaction of
informant tips, and links to enterprises outside the reader's county left out."""

from __future__ import annotations

import datetime as dt
import json

from fastapi import HTTPException
from sqlalchemy.orm import Session

from serving.access import in_jurisdiction, jurisdiction, must_redact
from serving.auth import Principal
from serving.context import split_ids
from serving.db.models import Lead, Outcome, ScoringRun, Tip, User
from serving.jobs import NotReady
from serving.repo import runs
from serving.repo.outcomes import case_id
from serving.runtime import Runtime


def exploration_note(lang: str, rank: int, prob: float | None) -> str:
    from training.score import exploration_note as note

    return note(lang, rank, prob if prob is not None else 0.0)


def reasons(lead_or_tip, lang: str) -> list[str]:
    text = lead_or_tip.reasons_en if lang == "en" else lead_or_tip.reasons
    try:
        out = json.loads(text or "[]")
    except json.JSONDecodeError:
        return []
    return [str(r) for r in out] if isinstance(out, list) else []


def run_info(run: ScoringRun, kind: str) -> dict:
    version = {"enterprise": run.enterprise_version, "tip": run.tip_version}.get(kind, run.site_scoring)
    if kind == "mismatch":
        version = "rules"
    return {"run_id": run.id, "as_of": run.as_of, "model_version": version, "snapshot_digest": run.snapshot_digest,
            "created_at": run.created_at}


def resolve_run(rt: Runtime, s: Session, as_of: dt.date | None, kind: str | None = None) -> ScoringRun:
    """The stored run a read refers to: 503 if there is none yet, 404 for an as-of date never scored."""
    if rt.digest is None:
        raise NotReady(rt.problem or "no snapshot loaded yet")
    run = runs.current_run(s, rt.digest, as_of, kind)
    if run is not None:
        return run
    if as_of is None:
        raise NotReady(rt.problem or "no lead list yet: the scoring job has not finished")
    dates = sorted({r.as_of for r in runs.runs(s, rt.digest)})
    raise HTTPException(404, f"no list for as-of {as_of}; stored as-of dates: {', '.join(map(str, dates)) or 'none'}")


def visible_ids(user: Principal, rt: Runtime, ids: list[str]) -> list[str]:
    j = jurisdiction(user)
    if j is None or rt.ctx is None:
        return ids
    return [i for i in ids if rt.ctx.county_of.get(i) == j]


def lead_item(lead: Lead, user: Principal, rt: Runtime, lang: str) -> dict:
    scoped = jurisdiction(user) is not None
    rank = lead.county_rank if scoped else lead.rank
    rs = reasons(lead, lang)
    if lead.exploration:
        rs.append(exploration_note(lang, (lead.county_model_rank if scoped else lead.model_rank) or rank, lead.inclusion_prob))
    item = {"rank": rank, "score": lead.score, "exploration": lead.exploration, "inclusion_prob": lead.inclusion_prob,
            "county": lead.county, "reasons": rs, "evidence": json.loads(lead.evidence or "{}"),
            "lat": lead.lat, "lon": lead.lon,
            "enterprise_ids": visible_ids(user, rt, split_ids(lead.enterprise_ids)),
            "vehicle_ids": split_ids(lead.vehicle_ids)}
    if lead.kind == "enterprise":
        item.update(enterprise_id=lead.entity_id, name=lead.name,
                    industry_code=lead.industries.strip(";").split(";")[0] or None)
    elif lead.kind == "site":
        item.update(site_id=lead.entity_id)
    else:
        item.update(tip_id=lead.entity_id)
    return item


def redact_lead(item: dict) -> dict:
    return {**item, "reasons": [], "evidence": {}, "enterprise_ids": [], "vehicle_ids": [], "redacted": True}


def tip_out(tip: Tip, user: Principal, rt: Runtime, lang: str, investigated: bool) -> dict:
    out = {"tip_id": tip.tip_id, "source": tip.source, "received_at": tip.received_at, "channel": tip.channel,
           "county": tip.jurisdiction, "redacted": False, "text": tip.text, "lat": tip.lat, "lon": tip.lon,
           "enterprise_id": tip.enterprise_id, "score": tip.score, "model_version": tip.model_version,
           "reasons": reasons(tip, lang), "status": "investigated" if investigated else "open",
           "enterprise_ids": visible_ids(user, rt, split_ids(tip.enterprise_ids)),
           "vehicle_ids": split_ids(tip.vehicle_ids)}
    if out["enterprise_id"] and not visible_ids(user, rt, [out["enterprise_id"]]):
        out["enterprise_id"] = None
    if must_redact(user, tip.channel):
        out.update(redacted=True, text=None, lat=None, lon=None, enterprise_id=None, reasons=[], enterprise_ids=[],
                   vehicle_ids=[])
    return out


def outcome_out(o: Outcome, names: dict[int, str]) -> dict:
    return {"id": o.id, "case_id": case_id(o.id), "entity_kind": o.entity_kind, "entity_id": o.entity_id,
            "outcome": o.outcome, "violation": o.violation, "tonnes": o.tonnes, "criminal": o.criminal,
            "opened": o.opened, "note": o.note, "enterprise_id": o.enterprise_id, "tip_id": o.tip_id,
            "recorded_by": names.get(o.recorded_by), "recorded_at": o.recorded_at}


def user_names(s: Session, ids) -> dict[int, str]:
    from sqlalchemy import select

    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return dict(s.execute(select(User.id, User.name).where(User.id.in_(ids))).all())


def enterprise_visible(rt: Runtime, user: Principal, enterprise_id: str) -> bool:
    return rt.ctx is not None and enterprise_id in rt.ctx.county_of and in_jurisdiction(user, rt.ctx.county_of[enterprise_id])
