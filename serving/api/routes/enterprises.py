"""Enterprise detail: profile, score history, reasons and the evidence (ledger, power, manifests, stops, map)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import pandas as pd
from fastapi import APIRouter, HTTPException, Path, Query, Request
from sqlalchemy import select

from features.timeutil import cutoff, last_complete_month
from serving import chain, evidence, readable
from serving.access import allowed
from serving.api.deps import EnterpriseReader, ReaderScope, RuntimeDep, lang_of, record
from serving.api.present import evidence_tips, lead_item, manifest_out, outcome_out, run_info, user_names
from serving.db.models import Mismatch, Tip
from serving.jobs import NotReady
from serving.repo import leads as leads_repo
from serving.repo import outcomes as outcomes_repo
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


def known_by(rows: list[dict], column: str, as_of) -> list[dict]:
    """Rows whose ``column`` time is on or before ``as_of`` (a detail read at an older as-of date shows
    the evidence of that date, not what came after it)."""
    end = cutoff(as_of)
    return [r for r in rows if r.get(column) is not None and pd.Timestamp(r[column]) < end]


@router.get("/{enterprise_id}", response_model=EnterpriseDetail, summary="One enterprise and its evidence")
def enterprise_detail(enterprise_id: EnterpriseIdPath, request: Request, user: EnterpriseReader, scope: ReaderScope,
                      rt: RuntimeDep,
                      as_of: Annotated[dt.date | None, Query(description="the list of this as-of date; default the latest")] = None,
                      lang: Lang | None = None):
    """Profile, score and reasons at the as-of date, the score over past as-of dates, and the
    evidence up to that date: ledger months with their gaps (tonnes), power against declared waste,
    the manifests concerned (flagged first; parties outside the reader's county not named), the
    suspicious stops, and a GeoJSON map. An enterprise outside the reader's county answers 404, as
    one that does not exist."""
    fs = rt.features
    if rt.snapshot is None or fs is None:
        raise NotReady(rt.problem or "the evidence tables are still being built")
    if not scope.enterprise_known(enterprise_id):
        raise not_found(rt, request, user, "enterprise.read", enterprise_id, "enterprise")
    lg = lang_of(rt, lang)
    with rt.db.read() as s:
        run = runs.current_run(s, rt.digest, as_of)
        if as_of is not None and run is None:
            raise HTTPException(404, f"no list for as-of {as_of}")
        day = run.as_of if run is not None else fs.as_of
        lead = leads_repo.one(s, run, "enterprise", enterprise_id)
        sites = readable.site_table(s, run)
        if lead is not None:
            scope.load_tips(s, evidence_tips([lead]))
        hist = leads_repo.history(s, rt.digest, "enterprise", enterprise_id, scope, until=as_of)
        mm_run = runs.current_run(s, rt.digest, None, "mismatch")
        last_month = str(last_complete_month(day))
        ledger = [] if mm_run is None else [
            {c: getattr(m, c) for c in MISMATCH_COLS} for m in s.scalars(
                select(Mismatch).where(Mismatch.run_id == mm_run.id, Mismatch.enterprise_id == enterprise_id,
                                       Mismatch.month <= last_month, *scope.where_county(Mismatch.county))
                .order_by(Mismatch.month, Mismatch.waste_code))]
        tips = None
        if allowed(user, "tip"):
            rows = s.scalars(select(Tip).where(Tip.enterprise_id == enterprise_id, *scope.where_county(Tip.jurisdiction))
                             .order_by(Tip.received_at.desc()).limit(100))
            tips = [{"tip_id": t.tip_id, "received_at": t.received_at, "channel": t.channel, "score": t.score}
                    for t in rows if scope.county_ok(t.jurisdiction) and not scope.redacts(t.channel)]
        outcomes = None
        if allowed(user, "outcome"):
            rows = outcomes_repo.about(s, scope, enterprise_id=enterprise_id)
            names = user_names(s, [o.recorded_by for o, _ in rows])
            outcomes = [outcome_out(o, scope, names, ch) for o, ch in rows]
    total, manifests = evidence.manifests_of(fs, enterprise_id)
    stops = evidence.stops_of(fs, enterprise_id)
    if as_of is not None:
        manifests, stops = known_by(manifests, "departed_at", day), known_by(stops, "start", day)
        total = len(manifests)
    item = lead_item(lead, scope, lg) if lead is not None else {}
    manifests_out = readable.manifests(rt, scope, [manifest_out(m, scope) for m in manifests], lg)
    stops_out = readable.stops(rt, scope, stops, lg, sites)
    prof = profile(rt, enterprise_id, rt.ctx.categories(day).get(enterprise_id, set()))
    out = {
        "profile": {**prof, **readable.profile_texts(prof, lg)},
        "run": run_info(run, "enterprise") if run else None,
        "score": item.get("score"), "rank": item.get("rank"), "exploration": bool(item.get("exploration", False)),
        "reasons": item.get("reasons", []), "evidence": item.get("evidence", {}),
        "evidence_rows": readable.readable_evidence(rt, scope, item.get("evidence", {}), lg),
        "history": [{"as_of": r.as_of, "score": ld.score, "rank": ld.rank if scope.city_wide else ld.county_rank,
                     "exploration": ld.exploration, "model_version": r.enterprise_version, "run_id": r.id} for r, ld in hist],
        "ledger": ledger, "power": evidence.power_months(rt.snapshot, enterprise_id, day),
        "manifests": manifests_out, "manifests_total": total, "stops": stops_out,
        "chain": chain.enterprise_chain(rt, scope, enterprise_id, manifests_out, stops_out), "tips": tips,
        "outcomes": outcomes,
        "map": evidence.enterprise_map(rt, enterprise_id, manifests, stops, partner_ok=scope.enterprise_ok),
    }
    record(rt, request, user, "enterprise.read", [enterprise_id], model_version=run.enterprise_version if run else None)
    return out
