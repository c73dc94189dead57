"""Enterprise detail: profile, score history, reasons and the evidence (ledger, power, manifests, stops, map)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request
from sqlalchemy import select

from serving import evidence
from serving.access import allowed, in_jurisdiction, must_redact
from serving.api.deps import EnterpriseReader, RuntimeDep, lang_of, record
from serving.api.present import enterprise_visible, lead_item, outcome_out, run_info, user_names
from serving.db.models import Mismatch, Outcome, Tip
from serving.jobs import NotReady
from serving.repo import leads as leads_repo
from serving.repo import runs
from serving.schemas.common import ERRORS, NOT_FOUND, Lang
from serving.schemas.detail import EnterpriseDetail

router = APIRouter(prefix="/v1/enterprises", tags=["enterprises"], responses={**ERRORS, **NOT_FOUND})
EnterpriseIdPath = Annotated[str, Path(min_length=1, max_length=64)]
MISMATCH_COLS = ("month", "waste_code", "category", "generated_t", "accounted_t", "balance_gap_t", "manifest_gap_t",
                 "receipt_gap_t", "power_gap_t", "unaccounted_t", "score")


def profile(rt, enterprise_id: str, cats: set[str]) -> dict:
    r = {k: evidence._v(v) for k, v in rt.ctx.enterprises.loc[enterprise_id].items()}
    opened = r.get("opened")
    return {**r, "roles": [x for x in str(r.get("roles") or "").split(";") if x],
            "opened": opened.date() if isinstance(opened, dt.datetime) else opened,
            "employees": int(r["employees"]) if r.get("employees") is not None else None,
            "categories": sorted(c for c in cats if c)}


def not_found(rt, request: Request, user, action: str, entity_id: str, what: str) -> HTTPException:
    record(rt, request, user, action, [entity_id], result="not_found")
    return HTTPException(404, f"no {what} {entity_id!r} within your jurisdiction")


@router.get("/{enterprise_id}", response_model=EnterpriseDetail, summary="One enterprise and its evidence")
def enterprise_detail(enterprise_id: EnterpriseIdPath, request: Request, user: EnterpriseReader, rt: RuntimeDep,
                      as_of: Annotated[dt.date | None, Query(description="the list of this as-of date; default the latest")] = None,
                      lang: Lang | None = None):
    """Profile, score and reasons at the as-of date, the score over past as-of dates, and the
    evidence: ledger months with their gaps (tonnes), power against declared waste, the manifests
    concerned (flagged first), the suspicious stops, and a GeoJSON map. An enterprise outside the
    reader's county answers 404, as one that does not exist."""
    fs = rt.features
    if rt.snapshot is None or fs is None:
        raise NotReady(rt.problem or "the evidence tables are still being built")
    if not enterprise_visible(rt, user, enterprise_id):
        raise not_found(rt, request, user, "enterprise.read", enterprise_id, "enterprise")
    lg = lang_of(rt, lang)
    with rt.db.read() as s:
        run = runs.current_run(s, rt.digest, as_of)
        if as_of is not None and run is None:
            raise HTTPException(404, f"no list for as-of {as_of}")
        lead = leads_repo.one(s, run, "enterprise", enterprise_id)
        hist = leads_repo.history(s, rt.digest, "enterprise", enterprise_id)
        mm_run = runs.current_run(s, rt.digest, None, "mismatch")
        ledger = [] if mm_run is None else [
            {c: getattr(m, c) for c in MISMATCH_COLS} for m in s.scalars(
                select(Mismatch).where(Mismatch.run_id == mm_run.id, Mismatch.enterprise_id == enterprise_id)
                .order_by(Mismatch.month, Mismatch.waste_code))]
        tips = None
        if allowed(user, "tip"):
            rows = s.scalars(select(Tip).where(Tip.enterprise_id == enterprise_id).order_by(Tip.received_at.desc()).limit(100))
            tips = [{"tip_id": t.tip_id, "received_at": t.received_at, "channel": t.channel, "score": t.score}
                    for t in rows if in_jurisdiction(user, t.jurisdiction) and not must_redact(user, t.channel)]
        outcomes = None
        if allowed(user, "outcome"):
            rows = list(s.scalars(select(Outcome).where(Outcome.enterprise_id == enterprise_id).order_by(Outcome.id.desc()).limit(100)))
            names = user_names(s, [o.recorded_by for o in rows])
            outcomes = [outcome_out(o, names) for o in rows]
    total, manifests = evidence.manifests_of(fs, enterprise_id)
    stops = evidence.stops_of(fs, enterprise_id)
    item = lead_item(lead, user, rt, lg) if lead is not None else {}
    scoped = user.county is not None and user.role in ("investigator", "env_bureau")
    out = {
        "profile": profile(rt, enterprise_id, rt.ctx.categories(fs.as_of).get(enterprise_id, set())),
        "run": run_info(run, "enterprise") if run else None,
        "score": item.get("score"), "rank": item.get("rank"), "exploration": bool(item.get("exploration", False)),
        "reasons": item.get("reasons", []), "evidence": item.get("evidence", {}),
        "history": [{"as_of": r.as_of, "score": ld.score, "rank": ld.county_rank if scoped else ld.rank,
                     "exploration": ld.exploration, "model_version": r.enterprise_version, "run_id": r.id} for r, ld in hist],
        "ledger": ledger, "power": evidence.power_months(rt.snapshot, enterprise_id, fs.as_of),
        "manifests": manifests, "manifests_total": total, "stops": stops, "tips": tips, "outcomes": outcomes,
        "map": evidence.enterprise_map(rt, enterprise_id, manifests, stops),
    }
    record(rt, request, user, "enterprise.read", [enterprise_id], model_version=run.enterprise_version if run else None)
    return out
