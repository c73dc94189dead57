"""Recorded outcomes, and their export as the ``cases`` frame the next training run adds to its labels."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from serving.access import INFORMANT
from serving.db.models import Outcome, Tip
from serving.scope import Scope

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


def page(session: Session, scope: Scope, entity_kind: str | None, entity_id: str | None,
         limit: int, offset: int) -> tuple[int, list[tuple[Outcome, str | None]]]:
    """(total, [(outcome, channel of the tip it concerns or None)]) within the reader's jurisdiction, newest first."""
    conds = [*scope.where_county(Outcome.jurisdiction)]
    if entity_kind is not None:
        conds.append(Outcome.entity_kind == entity_kind)
    if entity_id is not None:
        conds.append(Outcome.entity_id == entity_id)
    total = session.scalar(select(func.count(Outcome.id)).where(*conds)) or 0
    rows = session.execute(select(Outcome, Tip.channel).outerjoin(Tip, Tip.tip_id == Outcome.tip_id).where(*conds)
                           .order_by(Outcome.id.desc()).limit(limit).offset(offset)).all()
    return total, [(o, ch) for o, ch in rows]


def about(session: Session, scope: Scope, limit: int = 100, **where) -> list[tuple[Outcome, str | None]]:
    """Outcomes whose columns equal ``where`` (e.g. ``enterprise_id=E1``), within the reader's
    jurisdiction, newest first. For a reader not entitled to informants, outcomes recorded against an
    informant tip (or a tip no longer known) are left out: listed beside an enterprise they would say
    that an informant named it."""
    conds = [*scope.where_county(Outcome.jurisdiction), *(getattr(Outcome, k) == v for k, v in where.items())]
    if not scope.informants:
        conds.append(Outcome.tip_id.is_(None) | (Tip.channel.is_not(None) & (Tip.channel != INFORMANT)))
    return [(o, ch) for o, ch in session.execute(
        select(Outcome, Tip.channel).outerjoin(Tip, Tip.tip_id == Outcome.tip_id).where(*conds)
        .order_by(Outcome.id.desc()).limit(limit)).all()]
