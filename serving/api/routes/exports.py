"""Every list as an Excel workbook (``serving.export``): the three lead lists with the filters and sort of
the page, the ledger mismatch with its per-enterprise totals beside the monthly rows, and the case desk.
What a reader may see is decided exactly as for the list itself (``serving.scope``)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from serving.api.deps import CaseUser, LeadReader, MismatchReader, ReaderScope, RuntimeDep, lang_of, record
from serving.api.present import user_names
from serving.api.routes.cases import case_out, today
from serving.api.routes.leads import (
    AsOf,
    Category,
    Corroborated,
    County,
    DeskFilters,
    Exploration,
    Industry,
    MinScore,
    list_rows,
)
from serving.api.routes.mismatch import COLUMNS as _MISMATCH_COLUMNS
from serving.api.routes.mismatch import Filters, _item, _select, enterprise_totals
from serving.export import MAX_ROWS, Column, workbook, xlsx_response
from serving.repo import cases as cases_repo
from serving.schemas.cases import Kind, Status
from serving.schemas.common import ERRORS, NOT_FOUND, Lang
from serving.schemas.tips import Channel

router = APIRouter(prefix="/v1/exports", tags=["exports"], responses={
    **ERRORS, **NOT_FOUND, 200: {"content": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}},
                                 "description": "an .xlsx workbook"}})
LEAD_EXPORT = 5000  # entries of a lead list in one workbook

DESK = [Column("status", "状态"), Column("assignee", "承办人"), Column("due", "办理期限", width=12)]
LEADS = {
    "enterprise": [Column("rank", "排名", 0, 6), Column("list_rank", "名单原排名", 0, 8), Column("enterprise_id", "企业编号"),
                   Column("name", "企业名称", width=30), Column("county", "区县"), Column("industry_code", "行业代码", width=10),
                   Column("industry_name", "行业", width=24), Column("score", "得分（0–1）", 3, 10), *DESK,
                   Column("exploration", "探索性抽样", width=8), Column("reasons", "理由", width=60)],
    "tip": [Column("rank", "排名", 0, 6), Column("list_rank", "名单原排名", 0, 8), Column("tip_id", "举报编号"),
            Column("channel", "渠道"), Column("received_at", "接收时间（北京时间）", width=18), Column("county", "区县"),
            Column("score", "得分（0–1）", 3, 10), *DESK, Column("redacted", "内容已隐去", width=8),
            Column("text", "举报内容", width=50), Column("reasons", "理由", width=60)],
    "site": [Column("rank", "排名", 0, 6), Column("list_rank", "名单原排名", 0, 8), Column("site_id", "点位编号"),
             Column("lat", "纬度（度）", 5), Column("lon", "经度（度）", 5), Column("county", "区县"),
             Column("score", "得分（规则，0–1）", 3, 10), *DESK, Column("vehicle_ids", "车辆", width=20),
             Column("enterprise_ids", "关联企业", width=20), Column("reasons", "理由", width=60)],
}
TITLE = {"enterprise": "企业线索", "tip": "举报线索", "site": "疑似倾倒点位"}
MISMATCH = [Column("as_of", "名单日期", width=12), Column("enterprise_id", "企业编号"), Column("name", "企业名称", width=30),
            Column("county", "区县"), Column("month", "月份", width=9), Column("waste_code", "废物代码", width=12),
            Column("category", "类别", width=7), Column("generated_t", "产生量（吨）", 3), Column("accounted_t", "去向合计（吨）", 3),
            Column("balance_gap_t", "台账缺口（吨）", 3), Column("manifest_gap_t", "联单缺口（吨）", 3),
            Column("receipt_gap_t", "接收缺口（吨）", 3), Column("power_gap_t", "用电推算缺口（吨）", 3),
            Column("unaccounted_t", "未说明去向（吨）", 3), Column("score", "得分（0–1）", 3),
            Column("over_3t", "本月达3吨"), Column("enterprise_unaccounted_t_365d", "企业近12个月未说明去向（吨）", 3, 16),
            Column("enterprise_over_3t", "企业近12个月达3吨")]
TOTALS = [Column("enterprise_id", "企业编号"), Column("name", "企业名称", width=30), Column("county", "区县"),
          Column("rows", "月份×废物代码行数", 0), Column("months", "月数", 0), Column("unaccounted_t", "未说明去向合计（吨）", 3, 16),
          Column("largest_month_t", "最大单月（吨）", 3), Column("enterprise_unaccounted_t_365d", "近12个月合计（吨）", 3, 16),
          Column("enterprise_over_3t", "近12个月达3吨")]
CASES = [Column("entity_kind", "线索类型"), Column("entity_id", "线索编号"), Column("name", "企业名称", width=30),
         Column("county", "区县"), Column("status", "状态"), Column("assignee", "承办人"), Column("due", "办理期限", width=12),
         Column("overdue", "已超期", width=8), Column("updated_at", "最近更新（UTC）", width=20)]
KIND_ZH = {"enterprise": "企业", "tip": "举报", "site": "点位"}


def _export(rt, request, user, scope, kind: str, as_of, county, industry, category, min_score, exploration, d,
            lang, **tip_filters):
    with rt.db.read() as s:
        run, total, items = list_rows(rt, s, user, scope, kind, as_of, county, industry, category, min_score,
                                      exploration, d, LEAD_EXPORT, 0, lang_of(rt, lang), **tip_filters)
    key = {"enterprise": "enterprise_id", "tip": "tip_id", "site": "site_id"}[kind]
    record(rt, request, user, f"leads.{kind}.export", [i[key] for i in items], result=f"{len(items)} rows")
    content = workbook([(TITLE[kind], LEADS[kind], items)])
    return xlsx_response(content, f"{kind}_leads_{run.as_of:%Y%m%d}.xlsx")


def _lead_export(kind: str):
    def export(request: Request, user: LeadReader, scope: ReaderScope, rt: RuntimeDep, d: DeskFilters,
               as_of: AsOf = None, county: County = None, industry: Industry = None, category: Category = None,
               min_score: MinScore = None, exploration: Exploration = None, lang: Lang | None = None):
        return _export(rt, request, user, scope, kind, as_of, county, industry, category, min_score, exploration, d, lang)

    export.__name__ = f"export_{kind}_leads"
    export.__doc__ = f"The {kind} list with the filters and sort of ``/v1/leads``, at most {LEAD_EXPORT} entries."
    return export


for _kind, _path in (("enterprise", "enterprises"), ("site", "sites")):
    router.add_api_route(f"/leads/{_path}", _lead_export(_kind), methods=["GET"],
                         summary=f"The {_kind} lead list as an Excel workbook")


@router.get("/leads/tips", summary="The tip lead list as an Excel workbook")
def export_tip_leads(request: Request, user: LeadReader, scope: ReaderScope, rt: RuntimeDep, d: DeskFilters,
                     as_of: AsOf = None, county: County = None, industry: Industry = None, category: Category = None,
                     min_score: MinScore = None, exploration: Exploration = None, channel: Channel | None = None,
                     corroborated: Corroborated = None, lang: Lang | None = None):
    """The tip list with the filters and sort of ``/v1/leads/tips`` (its channel and corroboration
    too) and the tips' words (withheld where the list withholds them), at most ``LEAD_EXPORT`` entries."""
    return _export(rt, request, user, scope, "tip", as_of, county, industry, category, min_score, exploration, d, lang,
                   channel=channel, corroborated=corroborated)


@router.get("/ledger-mismatch", summary="Ledger mismatch rows and per-enterprise totals as an Excel workbook")
def export_mismatch(request: Request, user: MismatchReader, scope: ReaderScope, rt: RuntimeDep, f: Filters):
    """Two sheets: the monthly rows (enterprise, month, waste code; tonnes) and each enterprise's totals."""
    with rt.db.read() as s:
        run, base, order = _select(rt, s, scope, f)
        rows = [{**_item(rt, m, t), "as_of": run.as_of} for m, t in s.execute(base.order_by(*order).limit(MAX_ROWS)).all()]
        _, totals = enterprise_totals(rt, s, scope, f)
    assert set(_MISMATCH_COLUMNS) <= {c.key for c in MISMATCH}
    record(rt, request, user, "mismatch.export", sorted({r["enterprise_id"] for r in rows}), result=f"{len(rows)} rows")
    content = workbook([("按月明细", MISMATCH, rows), ("按企业合计", TOTALS, totals)])
    return xlsx_response(content, f"ledger_mismatch_{run.as_of:%Y%m%d}.xlsx")


@router.get("/cases", summary="The case desk as an Excel workbook")
def export_cases(request: Request, user: CaseUser, scope: ReaderScope, rt: RuntimeDep, mine: bool = False,
                 kind: Kind | None = None, status: Status | None = None):
    with rt.db.read() as s:
        _, rows = cases_repo.page(s, scope, kind=kind, status=status, assignee_id=user.id if mine else None,
                                  overdue_on=None, limit=MAX_ROWS, offset=0)
        names = user_names(s, [c.assignee_id for c in rows])
        items = [case_out(rt, s, scope, c, c.entity_kind, c.entity_id, c.jurisdiction, names) for c in rows]
    for i in items:
        i["entity_kind"] = KIND_ZH.get(i["entity_kind"], i["entity_kind"])
    record(rt, request, user, "cases.export", [c.entity_id for c in rows], result=f"{len(rows)} rows")
    return xlsx_response(workbook([("线索办理", CASES, items)]), f"cases_{today():%Y%m%d}.xlsx")
