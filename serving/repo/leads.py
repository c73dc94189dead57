"""Reading stored lead lists with filters and jurisdiction (applied in SQL, so counts are filtered too)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from serving.db.models import Lead, ScoringRun


@dataclass(frozen=True)
class LeadFilter:
    county: str | None = None  # the reader's jurisdiction or a requested county
    industry: str | None = None  # GB/T 4754 prefix, e.g. C26
    category: str | None = None  # HW08
    min_score: float | None = None
    exploration: bool | None = None


def _where(q: Select, run_id: int, kind: str, jurisdiction: str | None, f: LeadFilter) -> Select:
    q = q.where(Lead.run_id == run_id, Lead.kind == kind)
    if jurisdiction is not None:
        q = q.where(Lead.county == jurisdiction)
    if f.county is not None:
        q = q.where(Lead.county == f.county)
    if f.industry:
        q = q.where(Lead.industries.like(f"%;{f.industry}%"))
    if f.category:
        q = q.where(Lead.categories.like(f"%;{f.category};%"))
    if f.min_score is not None:
        q = q.where(Lead.score >= f.min_score)
    if f.exploration is not None:
        q = q.where(Lead.exploration.is_(f.exploration))
    return q


def page(session: Session, run: ScoringRun, kind: str, jurisdiction: str | None, f: LeadFilter,
         limit: int, offset: int) -> tuple[int, list[Lead]]:
    """(total, rows) of one list, strongest first, restricted to ``jurisdiction`` when given."""
    total = session.scalar(_where(select(func.count(Lead.id)), run.id, kind, jurisdiction, f)) or 0
    order = (Lead.county_rank, Lead.id) if jurisdiction is not None else (Lead.rank, Lead.id)
    rows = session.scalars(_where(select(Lead), run.id, kind, jurisdiction, f).order_by(*order)
                           .limit(limit).offset(offset)).all()
    return total, list(rows)


def one(session: Session, run: ScoringRun | None, kind: str, entity_id: str) -> Lead | None:
    if run is None:
        return None
    return session.scalars(select(Lead).where(Lead.run_id == run.id, Lead.kind == kind,
                                              Lead.entity_id == entity_id).limit(1)).first()


def history(session: Session, digest: str, kind: str, entity_id: str) -> list[tuple[ScoringRun, Lead]]:
    """The entity's entry in the newest run of every as-of date of this snapshot, oldest date first."""
    rows = session.execute(
        select(ScoringRun, Lead).join(Lead, Lead.run_id == ScoringRun.id)
        .where(ScoringRun.snapshot_digest == digest, Lead.kind == kind, Lead.entity_id == entity_id)
        .order_by(ScoringRun.as_of, ScoringRun.id)
    ).all()
    newest: dict = {}
    for run, lead in rows:
        newest[run.as_of] = (run, lead)
    return [newest[d] for d in sorted(newest)]
