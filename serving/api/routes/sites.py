"""Candidate illegal site detail: its stops, the vehicles and enterprises linked to it, a map."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from serving import chain, evidence, readable
from serving.api.deps import ReaderScope, RuntimeDep, SiteReader, lang_of, record
from serving.api.present import evidence_tips, lead_item, outcome_out, resolve_run, run_info, user_names
from serving.api.routes.enterprises import known_by, not_found
from serving.jobs import NotReady
from serving.repo import leads as leads_repo
from serving.repo import outcomes as outcomes_repo
from serving.schemas.common import ERRORS, NOT_FOUND, Lang
from serving.schemas.detail import SiteDetail

router = APIRouter(prefix="/v1/sites", tags=["sites"], responses={**ERRORS, **NOT_FOUND})


@router.get("/{site_id}", response_model=SiteDetail, summary="One candidate site and its evidence")
def site_detail(site_id: Annotated[str, Path(min_length=1, max_length=64)], request: Request, user: SiteReader,
                scope: ReaderScope, rt: RuntimeDep, as_of: Annotated[dt.date | None, Query()] = None,
                lang: Lang | None = None):
    """The stops at the site up to the as-of date (time, vehicle, night, load, distance to water and
    karst), the vehicles and enterprises linked to it, its score over time, and a GeoJSON map. A site
    is the reader's if the list of that as-of date files it under the reader's county; its history
    and outcomes show only what is filed there too (a site's county follows its linked enterprises,
    which may change from one list to the next)."""
    fs = rt.features
    if rt.snapshot is None or fs is None:
        raise NotReady(rt.problem or "the evidence tables are still being built")
    with rt.db.read() as s:
        run = resolve_run(rt, s, as_of)
        lead = leads_repo.one(s, run, "site", site_id)
        if lead is None or not scope.county_ok(lead.county):
            raise not_found(rt, request, user, "site.read", site_id, "site")
        scope.load_tips(s, evidence_tips([lead]))
        sites = readable.site_table(s, run)
        hist = leads_repo.history(s, rt.digest, "site", site_id, scope, until=run.as_of)
        rows = outcomes_repo.about(s, scope, entity_kind="site", entity_id=site_id)
        outcomes = [outcome_out(o, scope, user_names(s, [o.recorded_by for o, _ in rows]), ch) for o, ch in rows]
    lg = lang_of(rt, lang)
    item = lead_item(lead, scope, lg)
    stops = known_by(evidence.stops_at(fs, lead.lat, lead.lon), "start", run.as_of)
    vehicles = rt.snapshot.vehicles.set_index("vehicle_id")
    vids = sorted(set(item["vehicle_ids"]) | {st["vehicle_id"] for st in stops})
    ents = item["enterprise_ids"]
    out = {
        "site_id": site_id, "run": run_info(run, "site"), "lat": lead.lat, "lon": lead.lon, "county": lead.county,
        "score": lead.score, "rank": item["rank"], "reasons": item["reasons"], "evidence": item["evidence"],
        "evidence_rows": readable.readable_evidence(rt, scope, item["evidence"], lg),
        "place": readable.place_text(rt, lead.lat, lead.lon, lg),
        "history": [{"as_of": r.as_of, "score": ld.score, "rank": ld.rank if scope.city_wide else ld.county_rank,
                     "exploration": ld.exploration, "model_version": r.site_scoring, "run_id": r.id} for r, ld in hist],
        "stops": readable.stops(rt, scope, stops, lg, sites),
        "vehicles": [{"vehicle_id": v,
                      "transporter_id": scope.enterprise_id(evidence._v(vehicles.at[v, "transporter_id"])) if v in vehicles.index else None,
                      "transporter_name": readable.enterprise_names(rt, scope, [evidence._v(vehicles.at[v, "transporter_id"])]).get(
                          evidence._v(vehicles.at[v, "transporter_id"])) if v in vehicles.index else None,
                      "hazmat_permit": evidence._v(vehicles.at[v, "hazmat_permit"]) if v in vehicles.index else None} for v in vids],
        "sources": chain.sources_before(rt, scope, stops, lg),
        "enterprises": [{"enterprise_id": e, "name": str(rt.ctx.enterprises.at[e, "name"]), "county": rt.ctx.county_of.get(e)}
                        for e in ents if e in rt.ctx.county_of],
        "outcomes": outcomes,
        "map": evidence.site_map(rt, lead.lat, lead.lon, stops, ents),
    }
    record(rt, request, user, "site.read", [site_id], model_version=run.site_scoring)
    return out
