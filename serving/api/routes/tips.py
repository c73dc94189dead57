"""Tips: the list (snapshot tips and those received here), one tip with its corroboration, intake."""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
import uuid
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Path, Query, Request
from sqlalchemy import func, select

from serving import audit, evidence, limits
from serving.api.deps import (
    Limit,
    Offset,
    ReaderScope,
    RuntimeDep,
    TipReader,
    TipWriter,
    lang_of,
    record,
    request_id,
)
from serving.api.present import tip_out, tip_words
from serving.api.routes.enterprises import not_found
from serving.db.models import Outcome, Tip
from serving.schemas.common import ERRORS, NOT_FOUND, ErrorBody, Lang
from serving.schemas.tips import Channel, TipDetail, TipIn, TipIntakeOut, TipPage

router = APIRouter(prefix="/v1/tips", tags=["tips"], responses={**ERRORS, **NOT_FOUND})
log = logging.getLogger("hazleads.serving")
LOCAL = ZoneInfo("Asia/Shanghai")


def _investigated(rt, s, tip_ids: list[str]) -> set[str]:
    done = set(s.scalars(select(Outcome.tip_id).where(Outcome.tip_id.in_(tip_ids), Outcome.outcome != "open")))
    if rt.snapshot is not None and len(rt.snapshot.cases):
        c = rt.snapshot.cases
        done |= set(c.loc[c["tip_id"].isin(tip_ids), "tip_id"])
    return done


@router.get("", response_model=TipPage, summary="Tips, newest first")
def list_tips(request: Request, user: TipReader, scope: ReaderScope, rt: RuntimeDep,
              county: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
              channel: Channel | None = None, source: Literal["snapshot", "intake"] | None = None,
              min_score: Annotated[float | None, Query(ge=0.0, le=1.0)] = None,
              limit: Limit = 50, offset: Offset = 0, lang: Lang | None = None):
    """Every tip the service knows, within the reader's county. Informant tips are listed (so a
    county investigator knows one exists) but redacted unless the reader is entitled."""
    conds = [*scope.where_county(Tip.jurisdiction)]
    if county is not None:
        conds.append(Tip.jurisdiction == county)
    if channel is not None:
        conds.append(Tip.channel == channel)
    if source is not None:
        conds.append(Tip.source == source)
    if min_score is not None:
        conds.append(Tip.score >= min_score)
    lg = lang_of(rt, lang)
    with rt.db.read() as s:
        total = s.scalar(select(func.count()).select_from(Tip).where(*conds)) or 0
        rows = list(s.scalars(select(Tip).where(*conds).order_by(Tip.received_at.desc(), Tip.tip_id).limit(limit).offset(offset)))
        done = _investigated(rt, s, [t.tip_id for t in rows])
        scope.load_tips(s, tip_words(rows))
    items = [tip_out(t, scope, lg, t.tip_id in done) for t in rows]
    record(rt, request, user, "tips.list", [t.tip_id for t in rows])
    return {"total": total, "limit": limit, "offset": offset, "items": items}


@router.get("/{tip_id}", response_model=TipDetail, summary="One tip with its corroboration")
def get_tip(tip_id: Annotated[str, Path(min_length=1, max_length=64)], request: Request, user: TipReader,
            scope: ReaderScope, rt: RuntimeDep, lang: Lang | None = None):
    """The tip, its score and reasons, and what corroborates it: off-site vehicle stops nearby in
    the week before, similar tips, the named enterprise's evidence."""
    with rt.db.read() as s:
        tip = s.get(Tip, tip_id)
        if tip is None or not scope.county_ok(tip.jurisdiction):
            raise not_found(rt, request, user, "tip.read", tip_id, "tip")
        done = _investigated(rt, s, [tip_id])
        scope.load_tips(s, tip_words([tip]))
        outcome_ids = list(s.scalars(select(Outcome.id).where(Outcome.entity_kind == "tip", Outcome.entity_id == tip_id,
                                                               *scope.where_county(Outcome.jurisdiction))))
    out = tip_out(tip, scope, lang_of(rt, lang), tip_id in done)
    if out["redacted"]:
        corroboration = None
    elif tip.source == "intake":
        corroboration = json.loads(tip.corroboration or "{}") or None
    elif rt.features is not None:
        corroboration = evidence.tip_corroboration(rt.features, {"tip_id": tip.tip_id, "lat": tip.lat, "lon": tip.lon,
                                                                 "received_at": tip.received_at, "enterprise_id": tip.enterprise_id})
        others = corroboration.pop("similar_tip_ids", None)
        if others is not None:
            with rt.db.read() as s:
                scope.load_tips(s, others)
            corroboration["similar_tips"] = sum(scope.tip_ok(i) for i in others)
    else:
        corroboration = None
    if corroboration and corroboration.get("named_enterprise") and not scope.enterprise_ok(
            corroboration["named_enterprise"]["enterprise_id"]):
        corroboration["named_enterprise"] = None
    record(rt, request, user, "tip.read", [tip_id], model_version=tip.model_version,
           result="ok redacted" if out["redacted"] else "ok")
    return {**out, "corroboration": corroboration, "outcomes": outcome_ids}


def _received_at(body: TipIn) -> dt.datetime:
    now = dt.datetime.now(LOCAL).replace(tzinfo=None)
    if body.received_at is None:
        return now.replace(microsecond=0)
    t = body.received_at
    if t.tzinfo is not None:
        t = t.astimezone(LOCAL).replace(tzinfo=None)
    if t > now + dt.timedelta(minutes=5) or t < dt.datetime(2000, 1, 1):
        raise HTTPException(422, "received_at must be between 2000-01-01 and now")
    return t


@router.post("", response_model=TipIntakeOut, status_code=201, summary="Receive a new tip and score it at once",
             responses={422: {"model": ErrorBody, "description": "the tip is not acceptable as sent"},
                        429: {"model": ErrorBody, "description": "over the tips one user may submit in an hour; see Retry-After"}})
def create_tip(body: TipIn, request: Request, user: TipWriter, scope: ReaderScope, rt: RuntimeDep,
               lang: Lang | None = None):
    """Stores the tip and scores it with the champion tip model against the latest evidence (vehicle
    stops nearby, similar tips, the named enterprise's ledger and manifests). County-scoped users
    record tips of their own county. Without a tip model the tip is stored unscored."""
    j = scope.county
    county = body.county
    if j is not None:
        if county is not None and county != j:
            raise HTTPException(403, f"you record tips of {j} only")
        county = j
    if body.enterprise_id is not None and not scope.enterprise_known(body.enterprise_id):
        raise HTTPException(422, f"enterprise_id {body.enterprise_id!r}: no such enterprise within your jurisdiction")
    with rt.db.read() as s:  # refused before the work of scoring; checked again where it is stored
        limits.tips(s, user, rt.settings.tip_intake_per_hour, lock=False)
    received = _received_at(body)
    tip_id = f"W{received:%Y%m%d}-{uuid.uuid4().hex[:10]}"
    row = {"tip_id": tip_id, "received_at": received, "channel": body.channel, "text": body.text, "lat": body.lat,
           "lon": body.lon, "county": county, "enterprise_id": body.enterprise_id}
    t0 = time.perf_counter()
    scored = _score(rt, row, lang_of(rt, lang))
    ms = (time.perf_counter() - t0) * 1000
    model = rt.models.get("tip")
    jur = rt.ctx.tip_county(county, body.enterprise_id, body.lat, body.lon) if rt.ctx else county
    tip = Tip(**row, source="intake", jurisdiction=jur, score=scored.get("score"),
              model_version=model.version if (model and scored) else None,
              reasons=json.dumps(scored.get("reasons", []), ensure_ascii=False),
              reasons_en=json.dumps(scored.get("reasons_en", []), ensure_ascii=False),
              enterprise_ids=str(scored.get("enterprise_ids") or ""), vehicle_ids=str(scored.get("vehicle_ids") or ""),
              corroboration=json.dumps(scored.get("corroboration") or {}, ensure_ascii=False, default=str),
              created_by=user.id)
    with rt.db.write() as s:
        limits.tips(s, user, rt.settings.tip_intake_per_hour)
        s.add(tip)
        audit.append(s, user, "tip.create", [tip_id], model_version=tip.model_version, request_id=request_id(request))
    rt.metrics.tips_received.inc()
    with rt.db.read() as s:
        scope.load_tips(s, tip_words([tip]))
    out = tip_out(tip, scope, lang_of(rt, lang), False)
    corroboration = None if out["redacted"] else (scored.get("corroboration") or None)
    return {**out, "corroboration": corroboration, "outcomes": [], "scored_in_ms": round(ms, 2)}


def _score(rt, row: dict, lang: str) -> dict:
    from training.score import score_tip

    model = rt.models.get("tip")
    if model is None or rt.features is None or rt.snapshot is None:
        return {}
    try:
        with rt.intake_lock:
            out = score_tip(dict(row), rt.snapshot, rt.features, model.model, lang, places=rt.places,
                            gazetteer=rt.gazetteer)
    except Exception:  # noqa: BLE001 - the tip is kept unscored rather than lost
        log.exception("tip scoring failed; stored unscored", extra={"tip_id": row["tip_id"]})
        return {}
    score = out.get("score")
    out["score"] = None if score is None or score != score else float(score)
    return out
