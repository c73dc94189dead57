"""The campaign's statistics for leadership: per county and month and per stage of the action plan, the
precision of the lists by month, and all of it as an Excel workbook. Auditors and admins read the
whole city, county users their county (``serving.scope``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from serving.api.deps import ReaderScope, RuntimeDep, StatsReader, record
from serving.api.routes.cases import today
from serving.export import Column, workbook, xlsx_response
from serving.repo import stats as repo
from serving.schemas.common import ERRORS, NOT_FOUND
from serving.schemas.stats import CampaignStats

router = APIRouter(prefix="/v1/stats", tags=["statistics"], responses={**ERRORS, **NOT_FOUND})
Month = Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")]
CountyQ = Annotated[str | None, Query(min_length=1, max_length=64, description="only this county")]

COUNT_COLUMNS = [Column("issued", "下发线索（条）", 0, 10), Column("checked", "已核查（条）", 0, 10),
                 Column("confirmed", "查实（条）", 0, 10), Column("unfounded", "不属实（条）", 0, 10),
                 Column("handed_over", "移送公安（件）", 0, 10), Column("criminal", "刑事案件（件）", 0, 10),
                 Column("tonnes", "查获危废（吨）", 3, 12), Column("median_days", "线索到办结中位天数（天）", 1, 14)]
MONTHS = [Column("county", "区县"), Column("month", "月份", width=9), *COUNT_COLUMNS]
STAGES = [Column("stage", "行动阶段"), Column("first_day", "开始日期", width=12), *COUNT_COLUMNS]
PRECISION = [Column("month", "月份", width=9), Column("as_of", "名单日期", width=12), Column("kind", "名单"),
             Column("k", "前k条", 0, 7), Column("listed", "名单条数", 0), Column("concluded", "已办结（条）", 0),
             Column("confirmed", "查实（条）", 0), Column("precision", "查准率（0–1）", 3)]
KIND_ZH = {"enterprise": "企业", "tip": "举报"}


def _stats(rt, scope, county, month_from, month_to) -> dict:
    county = county if county is not None and scope.county_ok(county) else scope.county
    with rt.db.read() as s:
        out = repo.campaign(s, scope, rt.settings.campaign_stages, county, month_from, month_to)
        out["precision"] = [p for p in repo.precision(s, scope, rt.digest, rt.settings.precision_k, county)
                            if (not month_from or p["month"] >= month_from) and (not month_to or p["month"] <= month_to)]
    return {"county": county, **out}


@router.get("", response_model=CampaignStats, summary="The campaign's numbers per county, month and stage")
def campaign_stats(request: Request, user: StatsReader, scope: ReaderScope, rt: RuntimeDep, county: CountyQ = None,
                   month_from: Month = None, month_to: Month = None):
    """Leads issued, checked, confirmed, unfounded, handed over, criminal cases, tonnes found and the
    median days from lead to conclusion; and the precision of each month's top k
    (``precision_k``) against the outcomes. A county outside the reader's jurisdiction reads as theirs."""
    out = _stats(rt, scope, county, month_from, month_to)
    record(rt, request, user, "stats.read", [out["county"] or "city"])
    return out


@router.get("/export", summary="The campaign's numbers as an Excel workbook",
            responses={200: {"content": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}},
                             "description": "sheets 按月, 按阶段, 查准率"}})
def export_stats(request: Request, user: StatsReader, scope: ReaderScope, rt: RuntimeDep, county: CountyQ = None,
                 month_from: Month = None, month_to: Month = None):
    out = _stats(rt, scope, county, month_from, month_to)
    totals = [{"county": out["county"] or repo.CITY, "month": "合计", **out["totals"]}]
    precision = [{**p, "kind": KIND_ZH.get(p["kind"], p["kind"])} for p in out["precision"]]
    content = workbook([("按区县按月", MONTHS, out["by_month"] + totals), ("按行动阶段", STAGES, out["by_stage"]),
                        ("名单查准率", PRECISION, precision)])
    record(rt, request, user, "stats.export", [out["county"] or "city"])
    return xlsx_response(content, f"campaign_stats_{today():%Y%m%d}.xlsx")
