"""The environment bureau's findings on an enterprise and the cases it hands to the police.

A handover (finding 移送公安) carries its evidence file as it was when handed over: the enterprise's
ledger mismatch rows of the newest cross-check, the outcomes recorded about it that the bureau may
read, and the pointers the bureau adds. The police decide within ``handover_decision_days``
(《行政执法机关移送涉嫌犯罪案件的规定》第八条: 3 days from receiving it): accepted (the lead goes to
已立案) or returned with a reason (back to 核查中). The enterprise's lead is 已移送 meanwhile."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from serving.access import INFORMANT
from serving.db.models import Handover, Mismatch, ScoringRun, utcnow
from serving.repo import cases
from serving.repo import outcomes as outcomes_repo
from serving.scope import Scope

POLICE = "移送公安"
DECIDED = ("accepted", "returned")


def framed(findings: list[str]) -> str:
    return ";" + ";".join(findings) + ";"


def findings_of(h: Handover) -> list[str]:
    return [f for f in h.findings.split(";") if f]


def evidence_file(session: Session, scope: Scope, enterprise_id: str, mismatch_run: ScoringRun | None,
                  pointers: list[str]) -> dict:
    """What is handed over with the case (tonnes per month and waste code, outcomes, the bureau's pointers)."""
    rows = []
    if mismatch_run is not None:
        rows = [{"month": m.month, "waste_code": m.waste_code, "unaccounted_t": round(m.unaccounted_t, 3),
                 "generated_t": m.generated_t, "accounted_t": m.accounted_t}
                for m in session.scalars(select(Mismatch).where(Mismatch.run_id == mismatch_run.id,
                                                                Mismatch.enterprise_id == enterprise_id)
                                         .order_by(Mismatch.month, Mismatch.waste_code))]
    found = [{"case_id": outcomes_repo.case_id(o.id), "outcome": o.outcome, "violation": o.violation, "tonnes": o.tonnes,
              "opened": o.opened.isoformat(), "county": o.jurisdiction, "informant": ch == INFORMANT or (o.tip_id and ch is None)}
             for o, ch in outcomes_repo.about(session, scope, enterprise_id=enterprise_id)]
    return {"as_of": mismatch_run.as_of.isoformat() if mismatch_run is not None else None,
            "ledger_mismatch": rows, "unaccounted_t": round(sum(r["unaccounted_t"] for r in rows), 3),
            "outcomes": found, "pointers": pointers}


def readable_file(evidence: dict, scope: Scope) -> dict:
    """The evidence file as ``scope``'s reader may see it: outcomes filed under another county, or
    recorded against an informant's tip for a reader not entitled, left out (the file was made by
    whoever handed it over, who may see more)."""
    out = dict(evidence)
    out["outcomes"] = [{k: v for k, v in o.items() if k != "informant"} for o in evidence.get("outcomes", [])
                       if scope.county_ok(o.get("county")) and (scope.informants or not o.get("informant", True))]
    out["pointers"] = [scope.text(p) for p in evidence.get("pointers", [])]
    return out


def create(session: Session, user_id: int, enterprise_id: str, county: str | None, findings: list[str],
           fine_yuan: float | None, tonnes: float | None, note: str | None, evidence: dict) -> Handover:
    handed = POLICE in findings
    h = Handover(enterprise_id=enterprise_id, jurisdiction=county, findings=framed(findings), fine_yuan=fine_yuan,
                 tonnes=tonnes, note=note, evidence=json.dumps(evidence, ensure_ascii=False),
                 status="handed" if handed else "recorded", recorded_by=user_id, recorded_at=utcnow())
    session.add(h)
    session.flush()
    if handed:
        cases.move(session, user_id, "enterprise", enterprise_id, county, "handover", status=cases.HANDED,
                   note=f"环保部门移送公安（移送记录 {h.id}）")
    return h


def decide(session: Session, h: Handover, user_id: int, accept: bool, reason: str | None) -> Handover:
    h.status = "accepted" if accept else "returned"
    h.decided_by, h.decided_at, h.reason = user_id, utcnow(), reason
    cases.move(session, user_id, "enterprise", h.enterprise_id, h.jurisdiction, "accept" if accept else "return",
               status=cases.FILED if accept else cases.CHECKING,
               note=f"公安机关接受移送（移送记录 {h.id}）" if accept else f"公安机关退回（移送记录 {h.id}）：{reason}")
    session.flush()
    return h


def elapsed_days(h: Handover, now: dt.datetime | None = None) -> float | None:
    """Days from handover to the police's decision, or to ``now`` while undecided; None if not handed over."""
    if POLICE not in findings_of(h):
        return None
    end = h.decided_at or now or utcnow()
    return (end - h.recorded_at).total_seconds() / 86400


def overdue(h: Handover, limit_days: float, now: dt.datetime | None = None) -> bool:
    days = elapsed_days(h, now)
    return days is not None and days > limit_days


def page(session: Session, scope: Scope, *, status: str | None, enterprise_id: str | None, overdue_days: float | None,
         limit: int, offset: int) -> tuple[int, list[Handover]]:
    """(total, handovers) within the reader's jurisdiction, newest first; ``overdue_days``: only undecided
    handovers older than that."""
    conds = [*scope.where_county(Handover.jurisdiction)]
    if status is not None:
        conds.append(Handover.status == status)
    if enterprise_id is not None:
        conds.append(Handover.enterprise_id == enterprise_id)
    if overdue_days is not None:
        conds += [Handover.status == "handed", Handover.recorded_at < utcnow() - dt.timedelta(days=overdue_days)]
    total = session.scalar(select(func.count(Handover.id)).where(*conds)) or 0
    rows = session.scalars(select(Handover).where(*conds).order_by(Handover.id.desc()).limit(limit).offset(offset)).all()
    return total, list(rows)
