"""Rows -> response dicts through the reader's ``Scope`` (``serving.scope``): language, county
ranks, informant redaction, and ids of other counties left out or masked."""

from __future__ import annotations

import datetime as dt
import json

from fastapi import HTTPException
from sqlalchemy import select
from sqlalchemy.orm import Session

from serving.context import split_ids
from serving.db.models import Lead, Outcome, ScoringRun, Tip, User
from serving.industries import division_name
from serving.jobs import NotReady
from serving.repo import runs
from serving.repo.outcomes import case_id
from serving.runtime import Runtime
from serving.scope import Scope


def exploration_note(lang: str, rank: int, prob: float | None) -> str:
    from training.score import exploration_note as note

    return note(lang, rank, prob if prob is not None else 0.0)


def reasons(lead_or_tip, lang: str) -> list[str]:
    """The stored reasons in ``lang``, as they are (callers pass them through ``Scope.reasons``)."""
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


def _evidence(lead: Lead) -> dict:
    try:
        ev = json.loads(lead.evidence or "{}")
    except json.JSONDecodeError:
        return {}
    return ev if isinstance(ev, dict) else {}


def _parsed(lead) -> tuple[dict, list[str], list[str]]:
    """(evidence, reasons zh, reasons en) of a stored lead, parsed once: kept on a list's
    ``LeadRow`` (its ``parsed``), so that a page parses each entry's JSON once. Callers copy
    before changing them."""
    got = getattr(lead, "parsed", None)
    if got is None:
        got = (_evidence(lead), reasons(lead, "zh"), reasons(lead, "en"))
        if hasattr(lead, "parsed"):
            lead.parsed = got
    return got


def evidence_tips(leads: list[Lead]) -> set[str]:
    """Every word of a page of leads that could be a tip id (its own tips, and the tokens of its
    evidence pointers and reasons): ``Scope.load_tips`` them, so that pointers to tips are judged."""
    from serving.scope import tokens

    out = {lead.entity_id for lead in leads if lead.kind == "tip"}
    for lead in leads:
        ev, zh, en = _parsed(lead)
        for fields in ev.values():
            out |= {t for v in fields.values() for t in tokens(v)}
        out |= {t for r in zh + en for t in tokens(r)}
    return out


def tip_words(tips) -> set[str]:
    """Every word of these tips' reasons that could be a tip id: ``Scope.load_tips`` them."""
    from serving.scope import tokens

    return {t for tip in tips for r in reasons(tip, "zh") + reasons(tip, "en") for t in tokens(r)}


def lead_item(lead: Lead, scope: Scope, lang: str, channel: str | None = None, received_at=None, text: str | None = None,
              names: dict[int, str] | None = None) -> dict:
    """One entry of a list as the reader may see it. ``channel``: a tip lead's channel (None if the
    tip is unknown here, which is redacted for readers not entitled to informants); ``text``: a tip's
    words. A lead read from a list (``serving.repo.leads.page``) carries its case and its place among
    the open leads."""
    scoped = not scope.city_wide
    list_rank = lead.county_rank if scoped else lead.rank
    rank = getattr(lead, "open_rank", None) or list_rank
    case = getattr(lead, "case", None)
    ev, zh, en = _parsed(lead)
    rs, ev = scope.explain(en if lang == "en" else zh, ev, lang)
    if lead.exploration:
        rs.append(exploration_note(lang, (lead.county_model_rank if scoped else lead.model_rank) or rank, lead.inclusion_prob))
    item = {"rank": rank, "list_rank": list_rank, "status": case.status if case is not None else "待核查",
            "assignee_id": case.assignee_id if case is not None else None,
            "assignee": (names or {}).get(case.assignee_id) if case is not None else None,
            "due": case.due if case is not None else None,
            "score": lead.score, "exploration": lead.exploration, "inclusion_prob": lead.inclusion_prob,
            "county": lead.county, "reasons": rs, "evidence": ev,
            "lat": lead.lat, "lon": lead.lon,
            "enterprise_ids": scope.enterprises(split_ids(lead.enterprise_ids)),
            "vehicle_ids": split_ids(lead.vehicle_ids)}
    if lead.kind == "enterprise":
        code = lead.industries.strip(";").split(";")[0] or None
        item.update(enterprise_id=lead.entity_id, name=lead.name, industry_code=code, industry_name=division_name(code))
    elif lead.kind == "site":
        item.update(site_id=lead.entity_id)
    else:
        item.update(tip_id=lead.entity_id, channel=channel, received_at=received_at, redacted=False,
                    text=scope.text(text, lang) if text else None)
        if scope.redacts(channel):
            item.update(reasons=[], evidence={}, enterprise_ids=[], vehicle_ids=[], redacted=True, text=None)
    return item


def tip_out(tip: Tip, scope: Scope, lang: str, investigated: bool) -> dict:
    out = {"tip_id": tip.tip_id, "source": tip.source, "received_at": tip.received_at, "channel": tip.channel,
           "county": tip.jurisdiction, "redacted": False, "text": scope.text(tip.text, lang), "lat": tip.lat,
           "lon": tip.lon, "enterprise_id": scope.enterprise_id(tip.enterprise_id), "score": tip.score,
           "model_version": tip.model_version, "reasons": scope.reasons(reasons(tip, lang), lang),
           "status": "investigated" if investigated else "open",
           "enterprise_ids": scope.enterprises(split_ids(tip.enterprise_ids)), "vehicle_ids": split_ids(tip.vehicle_ids)}
    if scope.redacts(tip.channel):
        out.update(redacted=True, text=None, lat=None, lon=None, enterprise_id=None, reasons=[], enterprise_ids=[],
                   vehicle_ids=[])
    return out


def outcome_out(o: Outcome, scope: Scope, names: dict[int, str], tip_channel: str | None = None) -> dict:
    """An outcome as the reader may see it. ``tip_channel``: the channel of the tip it was recorded
    against (None if unknown): an informant tip's outcome loses its note and named enterprise."""
    out = {"id": o.id, "case_id": case_id(o.id), "entity_kind": o.entity_kind, "entity_id": o.entity_id,
           "outcome": o.outcome, "violation": o.violation, "tonnes": o.tonnes, "criminal": o.criminal,
           "opened": o.opened, "note": scope.text(o.note) if o.note else o.note,
           "enterprise_id": scope.enterprise_id(o.enterprise_id), "tip_id": o.tip_id,
           "recorded_by": names.get(o.recorded_by), "recorded_at": o.recorded_at}
    if o.tip_id is not None and scope.redacts(tip_channel):
        out.update(note=None, enterprise_id=None)
    return out


def manifest_out(m: dict, scope: Scope) -> dict:
    """A manifest row with the parties outside the reader's jurisdiction left out (their ids are None)."""
    return {**m, **{k: scope.enterprise_id(m.get(k)) for k in ("producer_id", "transporter_id", "receiver_id")}}


def user_names(s: Session, ids) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return dict(s.execute(select(User.id, User.name).where(User.id.in_(ids))).all())
