"""Recorded outcomes, and their export as the ``cases`` frame the next training run adds to its labels."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from serving.db.models import Outcome

CASE_PREFIX = "SVC-"
CASE_COLUMNS = ["case_id", "opened", "enterprise_id", "tip_id", "outcome", "violation", "tonnes", "criminal"]


def case_id(outcome_id: int) -> str:
    return f"{CASE_PREFIX}{outcome_id:06d}"


def recorded_outcomes(session: Session) -> pd.DataFrame:
    """Every outcome about an enterprise or a tip, with the contract's ``cases`` columns.

    Outcomes about a site name neither an enterprise nor a tip and are not labels for either model
    (they stay in the table for the record)."""
    rows = session.scalars(select(Outcome).where((Outcome.enterprise_id.is_not(None)) | (Outcome.tip_id.is_not(None)))
                           .order_by(Outcome.id)).all()
    frame = pd.DataFrame([{
        "case_id": case_id(o.id), "opened": pd.Timestamp(o.opened), "enterprise_id": o.enterprise_id,
        "tip_id": o.tip_id, "outcome": o.outcome, "violation": o.violation, "tonnes": o.tonnes,
        "criminal": o.criminal,
    } for o in rows], columns=CASE_COLUMNS)
    frame["opened"] = pd.to_datetime(frame["opened"]).astype("datetime64[ns]")
    return frame


def page(session: Session, jurisdiction: str | None, entity_kind: str | None, entity_id: str | None,
         limit: int, offset: int) -> tuple[int, list[Outcome]]:
    q = select(Outcome)
    c = select(func.count(Outcome.id))
    conds = []
    if jurisdiction is not None:
        conds.append(Outcome.jurisdiction == jurisdiction)
    if entity_kind is not None:
        conds.append(Outcome.entity_kind == entity_kind)
    if entity_id is not None:
        conds.append(Outcome.entity_id == entity_id)
    if conds:
        q, c = q.where(*conds), c.where(*conds)
    total = session.scalar(c) or 0
    return total, list(session.scalars(q.order_by(Outcome.id.desc()).limit(limit).offset(offset)))
