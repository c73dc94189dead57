"""The case desk: each lead's status, assignee and due date, and every step of its history.

A lead without a ``Case`` row is 待核查. Every change goes through ``move``, which writes the row and one
``CaseEvent`` (who, when, from which status to which, the note) in the caller's transaction. Recording an
outcome moves the lead (``STATUS_OF_OUTCOME``): a confirmed or unfounded one concludes it, and concluded
leads leave the open lists (``serving.repo.leads``)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from serving.db.models import CASE_STATUSES, CONCLUDED, Case, CaseEvent, User, utcnow
from serving.scope import Scope

OPEN = CASE_STATUSES[0]  # 待核查: the status of a lead nobody has touched
CHECKING = CASE_STATUSES[1]  # 核查中
FILED = CASE_STATUSES[2]  # 已立案
HANDED = CASE_STATUSES[3]  # 已移送
STATUS_OF_OUTCOME = {"confirmed": CONCLUDED[0], "unfounded": CONCLUDED[1], "open": CHECKING}
KEEP = object()  # "leave this field as it is" for ``move``


def get(session: Session, kind: str, entity_id: str) -> Case | None:
    return session.scalars(select(Case).where(Case.entity_kind == kind, Case.entity_id == entity_id)).first()


def move(session: Session, user_id: int | None, kind: str, entity_id: str, jurisdiction: str | None, action: str, *,
         status: str | None = None, assignee_id=KEEP, due=KEEP, note: str | None = None) -> Case:
    """Put the lead on the desk if it is not, apply the changes given, and add one history step."""
    if status is not None and status not in CASE_STATUSES:
        raise ValueError(f"status {status!r}: one of {', '.join(CASE_STATUSES)}")
    case = get(session, kind, entity_id)
    now = utcnow()
    if case is None:
        case = Case(entity_kind=kind, entity_id=entity_id, jurisdiction=jurisdiction, status=OPEN, created_at=now,
                    updated_at=now)
        session.add(case)
        session.flush()
    before = case.status
    if status is not None:
        case.status = status
        case.concluded_at = now if status in CONCLUDED else None
    if assignee_id is not KEEP:
        case.assignee_id = assignee_id
    if due is not KEEP:
        case.due = due
    case.updated_at = now
    session.add(CaseEvent(case_id=case.id, at=now, user_id=user_id, action=action, status_from=before,
                          status_to=case.status, assignee_id=case.assignee_id, due=case.due, note=note))
    session.flush()
    return case


def on_outcome(session: Session, user_id: int, kind: str, entity_id: str, jurisdiction: str | None, outcome: str,
               note: str | None) -> Case:
    """An outcome was recorded: confirmed and unfounded conclude the lead; open moves an untouched lead
    to 核查中 and leaves a further-on one (已立案, 已移送) where it is."""
    status = STATUS_OF_OUTCOME[outcome]
    case = get(session, kind, entity_id)
    if outcome == "open" and case is not None and case.status != OPEN:
        status = None
    return move(session, user_id, kind, entity_id, jurisdiction, "outcome", status=status, note=note)


MAX_HISTORY = 200  # steps of one case shown (the newest)


def history(session: Session, case_id: int) -> list[CaseEvent]:
    """The case's newest ``MAX_HISTORY`` steps, oldest first."""
    rows = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id.desc())
                           .limit(MAX_HISTORY)).all()
    return list(reversed(rows))


def page(session: Session, scope: Scope, *, kind: str | None, status: str | None, assignee_id: int | None,
         overdue_on: dt.date | None, limit: int, offset: int) -> tuple[int, list[Case]]:
    """(total, cases) within the reader's jurisdiction, soonest due first (no due date last)."""
    conds = [*scope.where_county(Case.jurisdiction)]
    if kind is not None:
        conds.append(Case.entity_kind == kind)
    if status is not None:
        conds.append(Case.status == status)
    if assignee_id is not None:
        conds.append(Case.assignee_id == assignee_id)
    if overdue_on is not None:
        conds += [Case.due < overdue_on, Case.status.not_in(CONCLUDED)]
    total = session.scalar(select(func.count(Case.id)).where(*conds)) or 0
    rows = session.scalars(select(Case).where(*conds).order_by(Case.due.is_(None), Case.due, Case.id)
                           .limit(limit).offset(offset)).all()
    return total, list(rows)


def assignees(session: Session, scope: Scope, county: str | None) -> list[User]:
    """Active investigators a case filed under ``county`` may be given to: city-wide ones and that
    county's; for a county reader only those of its county and the city-wide."""
    conds = [User.role == "investigator", User.disabled.is_(False)]
    want = county if county is not None else scope.county
    conds.append(User.county.is_(None) | (User.county == want) if want is not None else User.county.is_(None))
    return list(session.scalars(select(User).where(*conds).order_by(User.name)))


def may_take(user: User, county: str | None) -> bool:
    """``user`` may be the assignee of a case filed under ``county``."""
    return (user.role == "investigator" and not user.disabled
            and (user.county is None or (county is not None and user.county == county)))
