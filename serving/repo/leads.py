"""Reading stored lead lists with filters, within the reader's ``Scope``: county in SQL (so counts
are filtered too), and filters on linked enterprises evaluated on what the reader may see.

The lists are the open ones: a lead concluded on the case desk (已结案-属实, 已结案-不属实) leaves them
unless asked for by its status, and ``open_rank`` numbers what remains, so recording an outcome
re-ranks a list at once, without a new scoring run. Every column can sort (``SORTS``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import NamedTuple

from sqlalchemy import Select, and_, case, false, func, literal, or_, select, tuple_
from sqlalchemy.orm import Session, aliased

from features.ledgers import CRIMINAL_T
from serving.access import INFORMANT
from serving.context import split_ids
from serving.db.models import CASE_STATUSES, CONCLUDED, Case, Lead, Mismatch, ScoringRun, Tip, User
from serving.scope import Scope

SORTS = ("rank", "score", "name", "county", "industry", "status", "assignee", "due")
_ON_CASE = and_(Case.entity_kind == Lead.kind, Case.entity_id == Lead.entity_id)
_ASSIGNEE = aliased(User)
_STATUS_ORDER = case({s: i for i, s in enumerate(CASE_STATUSES)}, value=func.coalesce(Case.status, CASE_STATUSES[0]))


@dataclass(frozen=True)
class LeadFilter:
    county: str | None = None  # a requested county (within the reader's jurisdiction)
    industry: str | None = None  # GB/T 4754 prefix, e.g. C26
    category: str | None = None  # HW08
    min_score: float | None = None
    exploration: bool | None = None
    channel: str | None = None  # tips: the channel it came in by
    corroborated: bool | None = None  # tips: vehicles stopped near it (a linked vehicle) or not
    max_score: float | None = None
    industries: tuple[str, ...] | None = None  # GB/T 4754 prefixes (an industry name, resolved)
    name: str | None = None  # part of the enterprise's name (or its exact id)
    status: str | None = None  # a case status; default: every status but the concluded ones
    include_concluded: bool = False  # with no status: concluded leads too
    assignee_id: int | None = None
    over_3t: bool = False  # enterprises whose unaccounted tonnes over the 12 months to as-of reach 3 t
    mismatch_run: ScoringRun | None = None  # the ledger cross-check ``over_3t`` reads
    sort: str = "rank"
    descending: bool = False


def _over_3t(f: LeadFilter):
    import pandas as pd

    run = f.mismatch_run

    first_month = str(pd.Period(run.as_of, "M") - 11)
    total = (select(func.coalesce(func.sum(Mismatch.unaccounted_t), 0.0))
             .where(Mismatch.run_id == run.id, Mismatch.enterprise_id == Lead.entity_id, Mismatch.month >= first_month)
             .scalar_subquery())
    return total >= CRIMINAL_T


def _where(q: Select, run_id: int, kind: str, scope: Scope, f: LeadFilter) -> Select:
    q = q.outerjoin(Case, _ON_CASE).where(Lead.run_id == run_id, Lead.kind == kind, *scope.where_county(Lead.county))
    if f.status is None:
        if not f.include_concluded:
            q = q.where(or_(Case.id.is_(None), Case.status.not_in(CONCLUDED)))
    elif f.status == CASE_STATUSES[0]:
        q = q.where(or_(Case.id.is_(None), Case.status == f.status))
    else:
        q = q.where(Case.status == f.status)
    if f.assignee_id is not None:
        q = q.where(Case.assignee_id == f.assignee_id)
    if f.max_score is not None:
        q = q.where(Lead.score <= f.max_score)
    if f.name:
        q = q.where(or_(Lead.name.contains(f.name, autoescape=True), Lead.entity_id == f.name))
    if f.industries is not None:
        q = q.where(or_(false(), *(Lead.industries.like(f"%;{p}%") for p in f.industries)))
    if f.over_3t:
        q = q.where(_over_3t(f) if kind == "enterprise" and f.mismatch_run is not None else false())
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


def _sorted(q: Select, scope: Scope, f: LeadFilter) -> Select:
    """``q`` in the order asked for, then the list's own order."""
    if f.sort == "rank":
        return q.order_by(*((c.desc() for c in _order(scope)) if f.descending else _order(scope)))
    if f.sort == "assignee":
        q = q.outerjoin(_ASSIGNEE, _ASSIGNEE.id == Case.assignee_id)
    col = {"score": Lead.score, "name": Lead.name, "county": Lead.county, "industry": Lead.industries,
           "status": _STATUS_ORDER, "assignee": _ASSIGNEE.name, "due": Case.due}[f.sort]
    return q.order_by(col.is_(None), col.desc() if f.descending else col, *_order(scope))


def open_ranks(session: Session, run_id: int, kind: str, scope: Scope, rows: list) -> dict[int, int]:
    """Lead id -> its place among the open leads of its list the reader sees (1 the strongest), for
    the leads ``rows`` (with ``id``, ``rank``, ``county_rank``). One query: the open leads before
    the first of ``rows`` in the list's order are counted through the index, and only the stretch
    of the list ``rows`` span is numbered (a page in rank order: about the page itself)."""
    if not rows:
        return {}
    rank_col = Lead.rank if scope.city_wide else Lead.county_rank
    keys = [(r.rank if scope.city_wide else r.county_rank, r.id) for r in rows]
    if any(k[0] is None for k in keys):  # no rank to place it by: number the whole list
        lo = hi = None
    else:
        lo, hi = min(keys), max(keys)
    key = tuple_(rank_col, Lead.id)
    open_ = (Lead.run_id == run_id, Lead.kind == kind, *scope.where_county(Lead.county),
             or_(Case.id.is_(None), Case.status.not_in(CONCLUDED)))
    if lo is None:
        before, span = literal(0), ()
    else:
        before = (select(func.count()).select_from(Lead).outerjoin(Case, _ON_CASE)
                  .where(*open_, key < tuple_(*lo)).scalar_subquery())
        span = (key >= tuple_(*lo), key <= tuple_(*hi))
    ranked = (select(Lead.id.label("id"), (before + func.row_number().over(order_by=_order(scope))).label("n"))
              .outerjoin(Case, _ON_CASE).where(*open_, *span).subquery())
    return dict(session.execute(select(ranked.c.id, ranked.c.n).where(ranked.c.id.in_([r.id for r in rows]))).all())


LIST_COLUMNS = (Lead.id, Lead.kind, Lead.entity_id, Lead.rank, Lead.county_rank, Lead.model_rank, Lead.county_model_rank,
                Lead.score, Lead.exploration, Lead.inclusion_prob, Lead.county, Lead.name, Lead.industries, Lead.lat,
                Lead.lon, Lead.enterprise_ids, Lead.vehicle_ids, Lead.reasons, Lead.reasons_en, Lead.evidence)
_LIST_KEYS = tuple(c.key for c in LIST_COLUMNS)


class CaseView(NamedTuple):
    """What a list shows of a lead's case."""

    status: str
    assignee_id: int | None
    due: dt.date | None


class LeadRow:
    """A stored lead as a list reads it: its columns (``LIST_COLUMNS``), its case (a ``CaseView`` or
    None) and ``open_rank``; plain attributes, no ORM identity (a page is read, never changed)."""

    __slots__ = (*_LIST_KEYS, "case", "open_rank", "parsed")

    def __init__(self, row, case: CaseView | None = None, open_rank: int | None = None) -> None:
        for k, v in zip(_LIST_KEYS, row, strict=True):  # rows of ``select(*LIST_COLUMNS)``
            setattr(self, k, v)
        self.case, self.open_rank, self.parsed = case, open_rank, None


def _with_cases(session: Session, run: ScoringRun, kind: str, scope: Scope, rows: list) -> list[LeadRow]:
    """Each lead (a row of ``LIST_COLUMNS``) with its case (status, assignee, due) and its ``open_rank``."""
    if not rows:
        return []
    cases = {eid: CaseView(st, who, due) for eid, st, who, due in session.execute(
        select(Case.entity_id, Case.status, Case.assignee_id, Case.due)
        .where(Case.entity_kind == kind, Case.entity_id.in_([r.entity_id for r in rows])))}
    ranks = open_ranks(session, run.id, kind, scope, rows)
    return [LeadRow(r, cases.get(r.entity_id), ranks.get(r.id)) for r in rows]


def _total(session: Session, run_id: int, kind: str, scope: Scope, f: LeadFilter) -> int:
    """How many leads ``f`` selects. The desk's default (every lead but the concluded ones, or every
    lead) is counted without reading the list's rows: the leads of the list through its index, less
    the concluded cases among them (a handful), so that it costs little however long the list."""
    if replace(f, sort="rank", descending=False, include_concluded=False) != LeadFilter():
        return session.scalar(_where(select(func.count(Lead.id)), run_id, kind, scope, f)) or 0
    mine = (Lead.run_id == run_id, Lead.kind == kind, *scope.where_county(Lead.county))
    listed = session.scalar(select(func.count()).select_from(Lead).where(*mine)) or 0
    if f.include_concluded:
        return listed
    concluded_ids = select(Case.entity_id).where(Case.entity_kind == kind, Case.status.in_(CONCLUDED))
    # found by entity (ix_leads_kind_entity): ``run_id + 0`` keeps a planner without statistics
    # (SQLite's) from walking the whole list by its run's index instead
    concluded = session.scalar(select(func.count()).select_from(Lead).where(
        Lead.run_id + 0 == run_id, *mine[1:], Lead.entity_id.in_(concluded_ids))) or 0
    return listed - concluded


def page(session: Session, run: ScoringRun, kind: str, scope: Scope, f: LeadFilter,
         limit: int, offset: int) -> tuple[int, list[LeadRow]]:
    """(total, rows) of one list, strongest first, within the reader's jurisdiction.

    A tip's or site's industry and category (by code or by name) are those of its linked enterprises. For a reader who
    does not see everything, they are taken from the enterprises that reader may see, and an
    informant tip the reader may not read matches no such filter: otherwise probing the filters
    would tell which enterprise an informant named, or what a neighbouring county's enterprise does."""
    if kind == "enterprise" or scope.sees_all or not (f.industry or f.category or f.industries is not None):
        total = _total(session, run.id, kind, scope, f)
        rows = session.execute(_sorted(_where(select(*LIST_COLUMNS), run.id, kind, scope, f), scope, f)
                               .limit(limit).offset(offset)).all()
        return total, _with_cases(session, run, kind, scope, list(rows))
    # the LIKE filters over every linked enterprise select a superset; narrow it to what the reader sees
    candidates = session.execute(_sorted(_where(select(Lead.id, Lead.entity_id, Lead.enterprise_ids), run.id, kind,
                                                scope, f), scope, f)).all()
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
        if f.industries is not None and not any(str(industry_of.get(e, "")).startswith(p)
                                                for e in ents for p in f.industries):
            return False
        return not f.category or any(f.category in cats.get(e, ()) for e in ents)

    keep = [c.id for c in candidates if matches(c)]
    chosen = keep[offset:offset + limit]
    by_id = {r.id: r for r in session.execute(select(*LIST_COLUMNS).where(Lead.id.in_(chosen)))} if chosen else {}
    return len(keep), _with_cases(session, run, kind, scope, [by_id[i] for i in chosen])


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


