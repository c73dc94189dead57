"""The campaign's numbers, per county and month and per stage of the action plan, from the case desk,
the outcomes and the handovers, within the reader's jurisdiction.

Each count is of things that happened in the month (local time, Asia/Shanghai):
- ``issued``: leads put on the desk (taken, assigned, or first given a status or an outcome);
- ``checked``: leads moved to 核查中 or further; ``confirmed`` / ``unfounded``: leads concluded 已结案-属实 /
  已结案-不属实; ``handed_over``: cases the bureau handed to the police (移送公安);
- ``criminal``: enterprises with a handover the police accepted, or an outcome recorded as criminal
  (each enterprise once a month); ``tonnes``: waste found, the tonnes of confirmed outcomes;
- ``median_days``: days from a lead going on the desk to its conclusion, over the leads concluded that month.

``precision``: for each month, the newest list of that month, its top ``k`` (per reader: city-wide or the
county's ranks) measured against the leads concluded since: confirmed / (confirmed + unfounded).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from statistics import median

from sqlalchemy import select
from sqlalchemy.orm import Session

from serving.db.models import CONCLUDED, Case, CaseEvent, Handover, Lead, Outcome, ScoringRun
from serving.repo import cases as cases_repo
from serving.scope import Scope

UTC_TO_LOCAL = dt.timedelta(hours=8)  # Asia/Shanghai has no daylight saving
COUNTS = ("issued", "checked", "confirmed", "unfounded", "handed_over", "criminal")
WHOLE = "全程"
CITY = "全市"


def local_month(t: dt.datetime) -> str:
    return (t + UTC_TO_LOCAL).strftime("%Y-%m")


def stage_of(day: dt.date, stages: dict[str, str]) -> str:
    """The stage of the action plan ``day`` falls in (the last one begun by then); before the first, or
    with none configured, ``全程``."""
    begun = [(dt.date.fromisoformat(first), name) for name, first in stages.items()
             if dt.date.fromisoformat(first) <= day]
    return max(begun)[1] if begun else WHOLE


class Tally:
    def __init__(self) -> None:
        self.counts = {c: 0 for c in COUNTS}
        self.tonnes = 0.0
        self.days: list[float] = []
        self.criminal: set[str] = set()

    def row(self) -> dict:
        return {**self.counts, "criminal": len(self.criminal), "tonnes": round(self.tonnes, 3),
                "median_days": round(median(self.days), 1) if self.days else None}


def campaign(session: Session, scope: Scope, stages: dict[str, str], county: str | None = None,
             month_from: str | None = None, month_to: str | None = None) -> dict:
    """{"by_month": [rows per county and month], "by_stage": [rows per stage, city or county], "totals": row}."""
    where = [*scope.where_county(Case.jurisdiction)] + ([Case.jurisdiction == county] if county else [])
    groups: dict[tuple[str, str], Tally] = defaultdict(Tally)
    stage_groups: dict[str, Tally] = defaultdict(Tally)
    whole = Tally()

    def add(county_: str | None, t: dt.datetime, fn) -> None:
        m = local_month(t)
        if (month_from and m < month_from) or (month_to and m > month_to):
            return
        for tally in (groups[(county_ or "", m)], stage_groups[stage_of((t + UTC_TO_LOCAL).date(), stages)], whole):
            fn(tally)

    def bump(name: str):
        def f(tally: Tally) -> None:
            tally.counts[name] += 1
        return f

    cases = {c.id: c for c in session.scalars(select(Case).where(*where))}
    for c in cases.values():
        add(c.jurisdiction, c.created_at, bump("issued"))
        if c.concluded_at is not None and c.status in CONCLUDED:
            days = (c.concluded_at - c.created_at).total_seconds() / 86400
            add(c.jurisdiction, c.concluded_at, lambda t, d=days: t.days.append(d))
    seen: set[tuple[int, str]] = set()  # a lead counted once per kind of step
    for e in session.scalars(select(CaseEvent).where(CaseEvent.case_id.in_(list(cases))).order_by(CaseEvent.id)) if cases else []:
        c = cases[e.case_id]
        step = {CONCLUDED[0]: "confirmed", CONCLUDED[1]: "unfounded"}.get(e.status_to)
        if step is None and e.status_to not in (None, cases_repo.OPEN):
            step = "checked"
        if step is None or (e.case_id, step) in seen or e.status_from == e.status_to:
            continue
        seen.add((e.case_id, step))
        add(c.jurisdiction, e.at, bump(step))
        if step != "checked" and (e.case_id, "checked") not in seen:  # concluded straight from 待核查: checked too
            seen.add((e.case_id, "checked"))
            add(c.jurisdiction, e.at, bump("checked"))
    h_where = [*scope.where_county(Handover.jurisdiction)] + ([Handover.jurisdiction == county] if county else [])
    for h in session.scalars(select(Handover).where(*h_where, Handover.findings.like("%;移送公安;%"))):
        add(h.jurisdiction, h.recorded_at, bump("handed_over"))
        if h.status == "accepted" and h.decided_at is not None:
            key = f"{local_month(h.decided_at)}:{h.enterprise_id}"
            add(h.jurisdiction, h.decided_at, lambda t, w=key: t.criminal.add(w))
    o_where = [*scope.where_county(Outcome.jurisdiction)] + ([Outcome.jurisdiction == county] if county else [])
    for o in session.scalars(select(Outcome).where(*o_where)):
        if o.outcome == "confirmed" and o.tonnes:
            add(o.jurisdiction, o.recorded_at, lambda t, x=o.tonnes: setattr(t, "tonnes", t.tonnes + x))
        if o.criminal:
            who = o.enterprise_id or f"{o.entity_kind}:{o.entity_id}"
            add(o.jurisdiction, o.recorded_at, lambda t, w=who, m=local_month(o.recorded_at): t.criminal.add(f"{m}:{w}"))
    by_month = [{"county": k[0] or None, "month": k[1], **v.row()} for k, v in sorted(groups.items())]
    order = {name: first for name, first in stages.items()}
    by_stage = [{"stage": s, "first_day": order.get(s), **v.row()}
                for s, v in sorted(stage_groups.items(), key=lambda kv: order.get(kv[0], ""))]
    return {"by_month": by_month, "by_stage": by_stage, "totals": whole.row()}


def precision(session: Session, scope: Scope, digest: str | None, k: int, county: str | None = None) -> list[dict]:
    """Per month and kind (enterprise, tip): the newest list of the month, its top ``k`` for this reader,
    how many of them were concluded, and the share confirmed."""
    if digest is None:
        return []
    newest: dict[str, ScoringRun] = {}
    for run in session.scalars(select(ScoringRun).where(ScoringRun.snapshot_digest == digest)
                               .order_by(ScoringRun.as_of, ScoringRun.id)):
        newest[run.as_of.strftime("%Y-%m")] = run
    status = {(c.entity_kind, c.entity_id): c.status for c in session.scalars(
        select(Case).where(Case.status.in_(CONCLUDED), *scope.where_county(Case.jurisdiction)))}
    rank = Lead.rank if scope.city_wide and county is None else Lead.county_rank
    out = []
    for month, run in sorted(newest.items()):
        for kind in ("enterprise", "tip"):
            conds = [Lead.run_id == run.id, Lead.kind == kind, *scope.where_county(Lead.county),
                     *([Lead.county == county] if county else []), rank <= k]
            top = session.execute(select(Lead.entity_id).where(*conds)).scalars().all()
            done = [status[(kind, e)] for e in top if (kind, e) in status]
            confirmed = sum(s == CONCLUDED[0] for s in done)
            out.append({"month": month, "as_of": run.as_of, "kind": kind, "k": k, "listed": len(top),
                        "concluded": len(done), "confirmed": confirmed,
                        "precision": round(confirmed / len(done), 3) if done else None})
    return out
