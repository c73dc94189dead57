"""The ledger cross-check for the environment bureau: per enterprise, month and waste code, in
tonnes; as pages, or as one CSV file for Excel (UTF-8 with a byte-order mark)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from typing import Annotated, Literal

import pandas as pd
from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import func, select

from features.ledgers import CRIMINAL_T
from serving.api.deps import Limit, MismatchReader, Offset, ReaderScope, RuntimeDep, query_model, record
from serving.api.present import resolve_run, run_info
from serving.db.models import Mismatch
from serving.schemas.common import ERRORS, NOT_FOUND
from serving.schemas.mismatch import EnterpriseTotalPage, MismatchPage

router = APIRouter(prefix="/v1/ledger-mismatch", tags=["ledger mismatch"], responses={**ERRORS, **NOT_FOUND})
Month = Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")]
COLUMNS = ("enterprise_id", "county", "month", "waste_code", "category", "generated_t", "accounted_t", "balance_gap_t",
           "manifest_gap_t", "receipt_gap_t", "power_gap_t", "unaccounted_t", "score")
MAX_EXPORT = 100_000


@dataclass
class MismatchFilters:
    county: Annotated[str | None, Query(min_length=1, max_length=64)] = None
    enterprise_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None
    category: Annotated[str | None, Query(pattern=r"^HW[0-9]{2}$")] = None
    month_from: Month = None
    month_to: Month = None
    min_gap_t: Annotated[float | None, Query(ge=0, le=1e6, description="minimum unaccounted tonnes")] = None
    over_3t: Annotated[Literal["row", "enterprise"] | None, Query(
        description="row: this month and code reach 3 t; enterprise: its 12 months to as-of do")] = None
    sort: Literal["unaccounted", "score", "month"] = "unaccounted"
    as_of: Annotated[dt.date | None, Query()] = None


Filters = Annotated[MismatchFilters, Depends(query_model(MismatchFilters))]


def _select(rt, s, scope, f: MismatchFilters):
    """(run, base query of (row, enterprise 12-month total), order) within the reader's county."""
    run = resolve_run(rt, s, f.as_of, kind="mismatch")
    first_month = str(pd.Period(run.as_of, "M") - 11)
    totals = (select(Mismatch.enterprise_id.label("eid"), func.sum(Mismatch.unaccounted_t).label("tot"))
              .where(Mismatch.run_id == run.id, Mismatch.month >= first_month).group_by(Mismatch.enterprise_id).subquery())
    tot = func.coalesce(totals.c.tot, 0.0)
    conds = [Mismatch.run_id == run.id, *scope.where_county(Mismatch.county)]
    for col, val in ((Mismatch.county, f.county),
                     (Mismatch.enterprise_id, f.enterprise_id), (Mismatch.category, f.category)):
        if val is not None:
            conds.append(col == val)
    if f.month_from:
        conds.append(Mismatch.month >= f.month_from)
    if f.month_to:
        conds.append(Mismatch.month <= f.month_to)
    if f.min_gap_t is not None:
        conds.append(Mismatch.unaccounted_t >= f.min_gap_t)
    if f.over_3t == "row":
        conds.append(Mismatch.unaccounted_t >= CRIMINAL_T)
    elif f.over_3t == "enterprise":
        conds.append(tot >= CRIMINAL_T)
    base = select(Mismatch, tot).outerjoin(totals, totals.c.eid == Mismatch.enterprise_id).where(*conds)
    order = {"unaccounted": (Mismatch.unaccounted_t.desc(),), "score": (Mismatch.score.desc(),),
             "month": (Mismatch.month.desc(),)}[f.sort]
    return run, base, (*order, Mismatch.id)


def _item(rt, m: Mismatch, total: float) -> dict:
    names = rt.ctx.enterprises["name"] if rt.ctx is not None else {}
    return {**{c: getattr(m, c) for c in COLUMNS},
            "name": str(names.get(m.enterprise_id)) if m.enterprise_id in names else None,
            "over_3t": m.unaccounted_t >= CRIMINAL_T, "enterprise_unaccounted_t_365d": float(total),
            "enterprise_over_3t": float(total) >= CRIMINAL_T}


@router.get("", response_model=MismatchPage, summary="Ledger mismatch rows (contract §4), largest gaps first")
def ledger_mismatch(request: Request, user: MismatchReader, scope: ReaderScope, rt: RuntimeDep, f: Filters, limit: Limit = 50,
                    offset: Offset = 0):
    """Every enterprise, month and waste code with generated and accounted tonnes and the four gaps
    (balance, manifest, receipt, power; positive = missing). ``unaccounted_t`` sums the positive
    gaps beyond rounding, the power estimate counted half; 3 t is the criminal standard."""
    with rt.db.read() as s:
        run, base, order = _select(rt, s, scope, f)
        total = s.scalar(select(func.count()).select_from(base.subquery())) or 0
        rows = s.execute(base.order_by(*order).limit(limit).offset(offset)).all()
    items = [_item(rt, m, t) for m, t in rows]
    record(rt, request, user, "mismatch.list", sorted({i["enterprise_id"] for i in items}))
    return {"total": total, "limit": limit, "offset": offset, "run": run_info(run, "mismatch"), "items": items}


@router.get("/export", response_class=Response, summary="The same rows as one CSV file (Excel: UTF-8 with BOM)",
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                             "description": f"at most {MAX_EXPORT:,} rows, with the filters of the list"}})
def export_mismatch(request: Request, user: MismatchReader, scope: ReaderScope, rt: RuntimeDep, f: Filters):
    with rt.db.read() as s:
        run, base, order = _select(rt, s, scope, f)
        rows = s.execute(base.order_by(*order).limit(MAX_EXPORT)).all()
    buf = io.StringIO()
    fields = ["as_of", "name", *COLUMNS, "over_3t", "enterprise_unaccounted_t_365d", "enterprise_over_3t"]
    w = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore", lineterminator="\r\n")
    w.writeheader()
    for m, t in rows:
        w.writerow({**_item(rt, m, t), "as_of": run.as_of.isoformat()})
    record(rt, request, user, "mismatch.export", sorted({m.enterprise_id for m, _ in rows}), result=f"{len(rows)} rows")
    name = f"ledger_mismatch_{run.as_of:%Y%m%d}.csv"
    return Response(("\ufeff" + buf.getvalue()).encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def enterprise_totals(rt, s, scope, f: MismatchFilters) -> tuple:
    """(run, rows): per enterprise, the filtered monthly rows summed (tonnes), with its 12-month total."""
    run, base, _ = _select(rt, s, scope, f)
    sub = base.subquery()
    m = sub.c
    total_col = list(sub.c)[-1]  # the enterprise's 12-month total (the base query's last column)
    q = (select(m.enterprise_id, func.max(m.county), func.count(), func.count(func.distinct(m.month)),
                func.sum(m.unaccounted_t), func.max(m.unaccounted_t), func.max(total_col))
         .group_by(m.enterprise_id).order_by(func.sum(m.unaccounted_t).desc(), m.enterprise_id))
    names = rt.ctx.enterprises["name"] if rt.ctx is not None else {}
    rows = [{"enterprise_id": e, "name": str(names[e]) if e in names else None, "county": c, "rows": n, "months": nm,
             "unaccounted_t": float(tot or 0.0), "largest_month_t": float(mx or 0.0),
             "enterprise_unaccounted_t_365d": float(y or 0.0), "enterprise_over_3t": float(y or 0.0) >= CRIMINAL_T}
            for e, c, n, nm, tot, mx, y in s.execute(q).all()]
    return run, rows


@router.get("/enterprises", response_model=EnterpriseTotalPage,
            summary="Per-enterprise totals of the ledger mismatch rows (the same filters), largest first")
def mismatch_by_enterprise(request: Request, user: MismatchReader, scope: ReaderScope, rt: RuntimeDep, f: Filters,
                           limit: Limit = 50, offset: Offset = 0):
    """Beside the monthly rows: each enterprise's rows summed (tonnes unaccounted for), its largest month
    and its 12-month total against the 3 t criminal standard."""
    with rt.db.read() as s:
        run, rows = enterprise_totals(rt, s, scope, f)
    page = rows[offset:offset + limit]
    record(rt, request, user, "mismatch.enterprises", [r["enterprise_id"] for r in page])
    return {"total": len(rows), "limit": limit, "offset": offset, "run": run_info(run, "mismatch"), "items": page}
