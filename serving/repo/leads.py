"""Reading stored lead lists with filters, within the reader's ``Scope``: county in SQL (so counts
are filtered too), and filters on linked enterprises evaluated on what the reader may see."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from serving.access import INFORMANT
from serving.context import split_ids
from serving.db.models import Lead, ScoringRun, Tip
from serving.scope import Scope


@dataclass(frozen=True)
class LeadFilter:
    county: str | None = None  # a requested county (within the reader's jurisdiction)
    industry: str | None = None  # GB/T 4754 prefix, e.g. C26
    category: str | None = None  # HW08
    min_score: float | None = None
    exploration: bool | None = None
    channel: str | None = None  # tips: the channel it came in by
    corroborated: bool | None = None  # tips: vehicles stopped near it (a linked vehicle) or not


def _where(q: Select, run_id: int, kind: str, scope: Scope, f: LeadFilter) -> Select:
    q = q.where(Lead.run_id == run_id, Lead.kind == kind, *scope.where_county(Lead.county))
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
    if f.channel is not None:
        q = q.where(Lead.entity_id.in_(select(Tip.tip_id).where(Tip.channel == f.channel)))
    if f.corroborated is not None:
        q = q.where(Lead.vehicle_ids != "" if f.corroborated else Lead.vehicle_ids == "")
        if not scope.informants:  # what corroborates an informant's tip is withheld, so it matches neither
            q = q.where(Lead.entity_id.in_(select(Tip.tip_id).where(Tip.channel != INFORMANT)))
    return q


def _order(scope: Scope) -> tuple:
    return (Lead.rank, Lead.id) if scope.city_wide else (Lead.county_rank, Lead.id)


def page(session: Session, run: ScoringRun, kind: str, scope: Scope, f: LeadFilter,
         limit: int, offset: int) -> tuple[int, list[Lead]]:
    """(total, rows) of one list, strongest first, within the reader's jurisdiction.

    A tip's or site's industry and category are those of its linked enterprises. For a reader who
    does not see everything, they are taken from the enterprises that reader may see, and an
    informant tip the reader may not read matches no such filter: otherwise probing the filters
    would tell which enterprise an informant named, or what a neighbouring county's enterprise does."""
    if kind == "enterprise" or scope.sees_all or not (f.industry or f.category):
        total = session.scalar(_where(select(func.count(Lead.id)), run.id, kind, scope, f)) or 0
        rows = session.scalars(_where(select(Lead), run.id, kind, scope, f).order_by(*_order(scope))
                               .limit(limit).offset(offset)).all()
        return total, list(rows)
    # the LIKE filters over every linked enterprise select a superset; narrow it to what the reader sees
    candidates = session.execute(_where(select(Lead.id, Lead.entity_id, Lead.enterprise_ids), run.id, kind, scope, f)
                                 .order_by(*_order(scope))).all()
    redacted: set[str] = set()
    if kind == "tip" and not scope.informants:
        ids = [c.entity_id for c in candidates]
        known = {}
        for k in range(0, len(ids), 500):
            known.update(session.execute(select(Tip.tip_id, Tip.channel).where(Tip.tip_id.in_(ids[k:k + 500]))).all())
        redacted = {i for i in ids if scope.redacts(known.get(i))}
    cats = scope.ctx.categories(run.as_of) if (f.category and scope.ctx is not None) else {}
    industry_of = scope.ctx.industry_of if scope.ctx is not None else {}

    def matches(c) -> bool:
        if c.entity_id in redacted:
            return False
        ents = scope.enterprises(split_ids(c.enterprise_ids))
        if f.industry and not any(str(industry_of.get(e, "")).startswith(f.industry) for e in ents):
            return False
        return not f.category or any(f.category in cats.get(e, ()) for e in ents)

    keep = [c.id for c in candidates if matches(c)]
    chosen = keep[offset:offset + limit]
    by_id = {r.id: r for r in session.scalars(select(Lead).where(Lead.id.in_(chosen)))} if chosen else {}
    return len(keep), [by_id[i] for i in chosen]


def one(session: Session, run: ScoringRun | None, kind: str, entity_id: str) -> Lead | None:
    if run is None:
        return None
    return session.scalars(select(Lead).where(Lead.run_id == run.id, Lead.kind == kind,
                                              Lead.entity_id == entity_id).limit(1)).first()


def history(session: Session, digest: str, kind: str, entity_id: str, scope: Scope,
            until=None) -> list[tuple[ScoringRun, Lead]]:
    """The entity's entry in the newest run of every as-of date of this snapshot (up to ``until`` if
    given), oldest date first, keeping the dates on which it was within the reader's jurisdiction."""
    q = (select(ScoringRun, Lead).join(Lead, Lead.run_id == ScoringRun.id)
         .where(ScoringRun.snapshot_digest == digest, Lead.kind == kind, Lead.entity_id == entity_id))
    if until is not None:
        q = q.where(ScoringRun.as_of <= until)
    newest: dict = {}
    for run, lead in session.execute(q.order_by(ScoringRun.as_of, ScoringRun.id)).all():
        newest[run.as_of] = (run, lead)
    return [newest[d] for d in sorted(newest) if scope.county_ok(newest[d][1].county)]


