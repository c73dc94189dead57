"""Ranked lead lists: enterprises, tips, candidate sites (stored by the scoring job)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy import select

from serving.api.deps import LeadReader, Limit, Offset, ReaderScope, RuntimeDep, lang_of, record
from serving.api.present import evidence_tips, lead_item, resolve_run, run_info
from serving.db.models import Tip
from serving.repo import leads as repo
from serving.schemas.common import ERRORS, NOT_FOUND, Lang
from serving.schemas.leads import EnterpriseLeadPage, SiteLeadPage, TipLeadPage
from serving.schemas.tips import Channel

router = APIRouter(prefix="/v1/leads", tags=["leads"], responses={**ERRORS, **NOT_FOUND})

County = Annotated[str | None, Query(min_length=1, max_length=64, description="only this county")]
Industry = Annotated[str | None, Query(pattern=r"^[A-Z][0-9]{0,4}$", description="GB/T 4754 code prefix, e.g. C26")]
Category = Annotated[str | None, Query(pattern=r"^HW[0-9]{2}$", description="waste category, e.g. HW08")]
MinScore = Annotated[float | None, Query(ge=0.0, le=1.0)]
AsOf = Annotated[dt.date | None, Query(description="the list of this as-of date; default the latest")]
Exploration = Annotated[bool | None, Query(description="only exploration entries (true) or only the others (false)")]
Corroborated = Annotated[bool | None, Query(description="only tips with vehicles stopped nearby (true) or only those without (false)")]


def _list(rt, request: Request, user, scope, kind: str, as_of, county, industry, category, min_score, exploration,
          limit, offset, lang, **tip_filters) -> dict:
    with rt.db.read() as s:
        run = resolve_run(rt, s, as_of)
        f = repo.LeadFilter(county=county, industry=industry, category=category, min_score=min_score, exploration=exploration,
                            **tip_filters)
        total, rows = repo.page(s, run, kind, scope, f, limit, offset)
        scope.load_tips(s, evidence_tips(rows))
        tips = {}
        if kind == "tip" and rows:
            tips = {t.tip_id: (t.channel, t.received_at, t.text) for t in
                    s.scalars(select(Tip).where(Tip.tip_id.in_([r.entity_id for r in rows])))}
    lg = lang_of(rt, lang)
    items = [lead_item(r, scope, lg, *tips.get(r.entity_id, (None, None, None))) for r in rows]
    info = run_info(run, kind)
    record(rt, request, user, f"leads.{kind}.list", [r.entity_id for r in rows], model_version=info["model_version"])
    return {"total": total, "limit": limit, "offset": offset, "run": info, "items": items}


@router.get("/enterprises", response_model=EnterpriseLeadPage, summary="Ranked enterprises")
def enterprise_leads(request: Request, user: LeadReader, scope: ReaderScope, rt: RuntimeDep, as_of: AsOf = None, county: County = None,
                     industry: Industry = None, category: Category = None, min_score: MinScore = None,
                     exploration: Exploration = None, limit: Limit = 50, offset: Offset = 0, lang: Lang | None = None):
    """Enterprises ranked by the champion model, with reasons and evidence pointers. County-scoped
    readers see their county only, ranked within it."""
    return _list(rt, request, user, scope, "enterprise", as_of, county, industry, category, min_score, exploration, limit, offset, lang)


@router.get("/tips", response_model=TipLeadPage, summary="Ranked open tips")
def tip_leads(request: Request, user: LeadReader, scope: ReaderScope, rt: RuntimeDep, as_of: AsOf = None, county: County = None,
              industry: Industry = None, category: Category = None, min_score: MinScore = None,
              exploration: Exploration = None, channel: Channel | None = None, corroborated: Corroborated = None,
              limit: Limit = 50, offset: Offset = 0, lang: Lang | None = None):
    """Open tips of the snapshot ranked by the tip model (tips received through the API are scored
    at intake: see ``/v1/tips``), with their text. Informant tips are redacted for readers not
    entitled to them, and match neither value of ``corroborated`` for them."""
    return _list(rt, request, user, scope, "tip", as_of, county, industry, category, min_score, exploration, limit, offset, lang,
                 channel=channel, corroborated=corroborated)


@router.get("/sites", response_model=SiteLeadPage, summary="Ranked candidate illegal sites")
def site_leads(request: Request, user: LeadReader, scope: ReaderScope, rt: RuntimeDep, as_of: AsOf = None, county: County = None,
               industry: Industry = None, category: Category = None, min_score: MinScore = None,
               exploration: Exploration = None, limit: Limit = 50, offset: Offset = 0, lang: Lang | None = None):
    """Places more than 300 m from every registered enterprise where waste vehicles stop, scored by
    a documented rule. A site's county is that of its nearest linked enterprise."""
    return _list(rt, request, user, scope, "site", as_of, county, industry, category, min_score, exploration, limit, offset, lang)
