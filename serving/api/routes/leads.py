"""Ranked lead lists: enterprises, tips, candidate sites (stored by the scoring job)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import TypeAdapter
from sqlalchemy import select

from serving.api.deps import (
    LeadReader,
    Limit,
    Offset,
    ReaderScope,
    RuntimeDep,
    lang_of,
    query_model,
    record,
)
from serving.api.kept import PATHS, PREFIX, kept_response
from serving.api.present import evidence_tips, lead_item, resolve_run, run_info, user_names
from serving.db.models import Tip
from serving.industries import code_prefixes
from serving.listcache import Answer, data_version, list_key
from serving.repo import leads as repo
from serving.repo import runs as runs_repo
from serving.schemas.cases import Status
from serving.schemas.common import ERRORS, NOT_FOUND, Lang
from serving.schemas.leads import EnterpriseLeadPage, SiteLeadPage, TipLeadPage
from serving.schemas.tips import Channel

router = APIRouter(prefix=PREFIX, tags=["leads"], responses={**ERRORS, **NOT_FOUND})

County = Annotated[str | None, Query(min_length=1, max_length=64, description="only this county")]
Industry = Annotated[str | None, Query(pattern=r"^[A-Z][0-9]{0,4}$", description="GB/T 4754 code prefix, e.g. C26")]
Category = Annotated[str | None, Query(pattern=r"^HW[0-9]{2}$", description="waste category, e.g. HW08")]
MinScore = Annotated[float | None, Query(ge=0.0, le=1.0)]
AsOf = Annotated[dt.date | None, Query(description="the list of this as-of date; default the latest")]
Exploration = Annotated[bool | None, Query(description="only exploration entries (true) or only the others (false)")]
Corroborated = Annotated[bool | None, Query(description="only tips with vehicles stopped nearby (true) or only those without (false)")]


@dataclass
class Desk:
    """The case desk's filters and the sort, shared by the three lists (and their exports)."""

    status: Annotated[Status | None, Query(description="only this status (default: all but the concluded)")] = None
    include_concluded: Annotated[bool, Query(description="concluded leads too (with no status)")] = False
    assignee_id: Annotated[int | None, Query(ge=1, description="only leads given to this user")] = None
    mine: Annotated[bool, Query(description="only leads given to me (我的线索)")] = False
    name: Annotated[str | None, Query(min_length=1, max_length=64, description="part of the enterprise's name")] = None
    industry_name: Annotated[str | None, Query(min_length=1, max_length=32,
                                               description="part of a GB/T 4754 division's name, e.g. 化学")] = None
    max_score: Annotated[float | None, Query(ge=0.0, le=1.0)] = None
    over_3t: Annotated[bool, Query(description="enterprises whose unaccounted tonnes over 12 months reach 3 t")] = False
    sort: Annotated[Literal[repo.SORTS], Query(description="column to sort by")] = "rank"
    desc: Annotated[bool, Query(description="descending")] = False


DeskFilters = Annotated[Desk, Depends(query_model(Desk))]


def lead_filter(rt, s, user, run, county, industry, category, min_score, exploration, d: Desk,
                **tip_filters) -> repo.LeadFilter:
    """``tip_filters``: the tip list's own (``channel``, ``corroborated``)."""
    return repo.LeadFilter(
        county=county, industry=industry, category=category, min_score=min_score, exploration=exploration,
        max_score=d.max_score, industries=code_prefixes(d.industry_name) if d.industry_name else None, name=d.name,
        status=d.status, include_concluded=d.include_concluded, assignee_id=user.id if d.mine else d.assignee_id, over_3t=d.over_3t,
        mismatch_run=runs_repo.current_run(s, rt.digest, run.as_of, "mismatch") if d.over_3t else None,
        sort=d.sort, descending=d.desc, **tip_filters)


def list_rows(rt, s, user, scope, kind: str, as_of, county, industry, category, min_score, exploration, d: Desk,
              limit: int, offset: int, lang: str, **tip_filters) -> tuple:
    """(run, total, items) of one list as the reader may see it (a tip with its text)."""
    run = resolve_run(rt, s, as_of)
    f = lead_filter(rt, s, user, run, county, industry, category, min_score, exploration, d, **tip_filters)
    total, rows = repo.page(s, run, kind, scope, f, limit, offset)
    if not scope.sees_all:  # who sees everything is shown every pointer: nothing to judge
        scope.load_tips(s, evidence_tips(rows))
    tips = {}
    if kind == "tip" and rows:
        tips = {tid: (channel, received_at, text) for tid, channel, received_at, text in
                s.execute(select(Tip.tip_id, Tip.channel, Tip.received_at, Tip.text)
                          .where(Tip.tip_id.in_([r.entity_id for r in rows])))}
    names = user_names(s, [r.case.assignee_id for r in rows if r.case is not None])
    items = [lead_item(r, scope, lang, *tips.get(r.entity_id, (None, None, None)), names=names) for r in rows]
    return run, total, items


PAGES = {kind: TypeAdapter(model) for kind, model in
         (("enterprise", EnterpriseLeadPage), ("tip", TipLeadPage), ("site", SiteLeadPage))}


def _list(rt, request: Request, user, scope, kind: str, as_of, county, industry, category, min_score, exploration,
          limit, offset, lang, d: Desk, **tip_filters) -> Response:
    """One page of a list: the answer kept for this reader and request while the data version holds
    (``serving.listcache``), else computed, serialised as the response model says and kept. Audited
    either way, with the ids shown. (A kept answer is usually served by the gate: ``serving.api.kept``.)"""
    failed = getattr(request.state, "kept_error", None)
    if failed is not None:  # the gate found this answer kept but could not audit the read: fail here as below
        raise failed
    lg = lang_of(rt, lang)
    key = list_key(kind, user, rt, request.scope.get("query_string", b""))
    version = getattr(request.state, "data_version", None)  # read by the gate with the token (serving.middleware)
    if version is None:  # the gate did not run (an app mounted without it)
        with rt.db.read() as s:
            version = data_version(s)
    # the version was read before the rows below: they are at least as new as the version they are kept under
    answer = rt.lists.get(key, version)
    if answer is None:
        with rt.db.read() as s:
            run, total, items = list_rows(rt, s, user, scope, kind, as_of, county, industry, category, min_score,
                                          exploration, d, limit, offset, lg, **tip_filters)
            info = run_info(run, kind)
            page = PAGES[kind].validate_python({"total": total, "limit": limit, "offset": offset, "run": info,
                                                "items": items})
            ids = tuple(i.get("enterprise_id") or i.get("tip_id") or i.get("site_id") for i in items)
            body = PAGES[kind].dump_json(page, by_alias=True)  # as FastAPI renders a response model
            answer = Answer(version, body, ids, info["model_version"], request.scope.get("route"))
            rt.lists.put(key, answer)
    record(rt, request, user, f"leads.{kind}.list", answer.ids, model_version=answer.model_version)
    return kept_response(answer)


@router.get(PATHS["enterprise"], response_model=EnterpriseLeadPage, summary="Ranked enterprises")
def enterprise_leads(request: Request, user: LeadReader, scope: ReaderScope, rt: RuntimeDep, as_of: AsOf = None, county: County = None,
                     industry: Industry = None, category: Category = None, min_score: MinScore = None,
                     exploration: Exploration = None, d: DeskFilters = None, limit: Limit = 50, offset: Offset = 0,
                     lang: Lang | None = None):
    """Enterprises ranked by the champion model, with reasons and evidence pointers. County-scoped
    readers see their county only, ranked within it."""
    return _list(rt, request, user, scope, "enterprise", as_of, county, industry, category, min_score, exploration, limit, offset, lang, d)


@router.get(PATHS["tip"], response_model=TipLeadPage, summary="Ranked open tips")
def tip_leads(request: Request, user: LeadReader, scope: ReaderScope, rt: RuntimeDep, as_of: AsOf = None, county: County = None,
              industry: Industry = None, category: Category = None, min_score: MinScore = None,
              exploration: Exploration = None, channel: Channel | None = None, corroborated: Corroborated = None,
              d: DeskFilters = None, limit: Limit = 50, offset: Offset = 0, lang: Lang | None = None):
    """Open tips of the snapshot ranked by the tip model (tips received through the API are scored
    at intake: see ``/v1/tips``), with their text. Informant tips are redacted for readers not
    entitled to them, and match neither value of ``corroborated`` for them."""
    return _list(rt, request, user, scope, "tip", as_of, county, industry, category, min_score, exploration, limit, offset, lang, d,
                 channel=channel, corroborated=corroborated)


@router.get(PATHS["site"], response_model=SiteLeadPage, summary="Ranked candidate illegal sites")
def site_leads(request: Request, user: LeadReader, scope: ReaderScope, rt: RuntimeDep, as_of: AsOf = None, county: County = None,
               industry: Industry = None, category: Category = None, min_score: MinScore = None,
               exploration: Exploration = None, d: DeskFilters = None, limit: Limit = 50, offset: Offset = 0,
                     lang: Lang | None = None):
    """Places more than 300 m from every registered enterprise where waste vehicles stop, scored by
    a documented rule. A site's county is that of its nearest linked enterprise."""
    return _list(rt, request, user, scope, "site", as_of, county, industry, category, min_score, exploration, limit, offset, lang, d)
