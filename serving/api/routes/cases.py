"""The case desk: a lead's status, assignee, due date and history ("我的线索" for an investigator, the
county's cases for a county lead). Every change is audited in the transaction that makes it."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Path, Query, Request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from serving import audit
from serving.api.deps import CaseUser, Limit, Offset, ReaderScope, RuntimeDep, record, request_id
from serving.api.present import user_names
from serving.api.routes.enterprises import not_found
from serving.api.routes.outcomes import target_of
from serving.db.models import CONCLUDED, Case, Tip, User
from serving.repo import cases as repo
from serving.schemas.cases import AssigneeList, CaseIn, CaseOut, CasePage, Kind, Status
from serving.schemas.common import ERRORS, NOT_FOUND
from serving.scope import Scope

router = APIRouter(prefix="/v1/cases", tags=["cases"], responses={**ERRORS, **NOT_FOUND})
SHANGHAI = ZoneInfo("Asia/Shanghai")


def today() -> dt.date:
    return dt.datetime.now(SHANGHAI).date()


def _redacted(s: Session, scope: Scope, case: Case) -> bool:
    """Notes on an informant tip's case are the informant's business: withheld from the unentitled."""
    if case.entity_kind != "tip" or scope.informants:
        return False
    tip = s.get(Tip, case.entity_id)
    return scope.redacts(tip.channel if tip is not None else None)


def case_out(rt, s: Session, scope: Scope, case: Case | None, kind: str, entity_id: str, county: str | None,
             names: dict[int, str], with_history: bool = False) -> dict:
    ent = rt.ctx.enterprises["name"] if (rt.ctx is not None and kind == "enterprise") else {}
    out = {"entity_kind": kind, "entity_id": entity_id, "county": county,
           "name": str(ent[entity_id]) if entity_id in ent else None, "status": repo.OPEN, "history": None}
    if case is not None:
        out.update(status=case.status, assignee_id=case.assignee_id, assignee=names.get(case.assignee_id),
                   due=case.due, updated_at=case.updated_at,
                   overdue=case.due is not None and case.due < today() and case.status not in CONCLUDED)
    if with_history:
        steps = repo.history(s, case.id) if case is not None else []
        hide = case is not None and _redacted(s, scope, case)
        names = {**names, **user_names(s, [e.user_id for e in steps] + [e.assignee_id for e in steps])}
        out["history"] = [{"at": e.at, "user": names.get(e.user_id), "action": e.action, "status_from": e.status_from,
                           "status_to": e.status_to, "assignee": names.get(e.assignee_id), "due": e.due,
                           "note": None if hide or not e.note else scope.text(e.note)} for e in steps]
    return out


@router.get("", response_model=CasePage, summary="Cases on the desk: mine, or my county's")
def list_cases(request: Request, user: CaseUser, scope: ReaderScope, rt: RuntimeDep,
               mine: Annotated[bool, Query(description="only the leads assigned to me (我的线索)")] = False,
               kind: Kind | None = None, status: Status | None = None,
               assignee_id: Annotated[int | None, Query(ge=1)] = None,
               overdue: Annotated[bool, Query(description="only those past their due date, not concluded")] = False,
               limit: Limit = 50, offset: Offset = 0):
    """Leads someone has taken, moved or recorded an outcome on, within the reader's county, soonest
    due first. A lead not listed here is 待核查."""
    with rt.db.read() as s:
        total, rows = repo.page(s, scope, kind=kind, status=status, assignee_id=user.id if mine else assignee_id,
                                overdue_on=today() if overdue else None, limit=limit, offset=offset)
        names = user_names(s, [c.assignee_id for c in rows])
        items = [case_out(rt, s, scope, c, c.entity_kind, c.entity_id, c.jurisdiction, names) for c in rows]
    record(rt, request, user, "cases.list", [c.entity_id for c in rows])
    return {"total": total, "limit": limit, "offset": offset, "items": items}


@router.get("/assignees", response_model=AssigneeList, summary="Investigators a lead may be given to")
def list_assignees(request: Request, user: CaseUser, scope: ReaderScope, rt: RuntimeDep,
                   county: Annotated[str | None, Query(min_length=1, max_length=64)] = None):
    """Active investigators: city-wide ones and those of ``county`` (a county reader: its own county)."""
    if county is not None and not scope.county_ok(county):
        county = scope.county
    with rt.db.read() as s:
        users = repo.assignees(s, scope, county)
    record(rt, request, user, "cases.assignees", [str(u.id) for u in users])
    return {"items": [{"id": u.id, "name": u.name, "county": u.county} for u in users]}


def _read(rt, request: Request, user, scope: Scope, kind: str, entity_id: str) -> dict:
    with rt.db.read() as s:
        target = target_of(rt, s, scope, kind, entity_id)
        if target is None:
            raise not_found(rt, request, user, f"case.{kind}.read", entity_id, kind)
        case = repo.get(s, kind, entity_id)
        names = user_names(s, [case.assignee_id] if case else [])
        out = case_out(rt, s, scope, case, kind, entity_id, target[0], names, with_history=True)
    record(rt, request, user, f"case.{kind}.read", [entity_id])
    return out


def _move(rt, request: Request, user, scope: Scope, kind: str, entity_id: str, body: CaseIn) -> dict:
    with rt.db.read() as s:
        target = target_of(rt, s, scope, kind, entity_id)
        existing = repo.get(s, kind, entity_id)
        want = user.id if body.take else body.assignee_id
        who = s.get(User, want) if want is not None else None
    if target is None:
        raise not_found(rt, request, user, f"case.{kind}.move", entity_id, kind)
    county = target[0]
    change: dict = {}
    if want is not None:
        if who is None or not repo.may_take(who, county):
            raise HTTPException(422, f"assignee_id {want}: not an active investigator of {county or 'the city'}"
                                     f" / 不是本辖区的在岗调查人员")
        change["assignee_id"] = want
    if body.due is not None:
        change["due"] = body.due
    status = body.status
    if status is None and body.take and (existing is None or existing.status == repo.OPEN):
        status = repo.CHECKING  # taking an untouched lead starts checking it
    action = "take" if body.take else ("status" if status else "assign")
    for attempt in range(2):  # two first steps on one lead at once: the loser of the unique key tries again
        try:
            with rt.db.write() as s:
                case = repo.move(s, user.id, kind, entity_id, county, action, status=status, note=body.note, **change)
                audit.append(s, user, f"case.{kind}.{action}", [entity_id], result=case.status,
                             request_id=request_id(request))
                names = user_names(s, [case.assignee_id])
                return case_out(rt, s, scope, case, kind, entity_id, county, names, with_history=True)
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")


Id = Annotated[str, Path(min_length=1, max_length=64)]
MOVE = ("take: assign it to yourself (an untouched lead becomes 核查中); assignee_id: give it to an investigator of "
        "its county or the city; status: move it (已结案-* concludes it and it leaves the open lists); every step is kept.")


@router.get("/enterprise/{enterprise_id}", response_model=CaseOut, summary="An enterprise lead's case and history")
def enterprise_case(request: Request, user: CaseUser, scope: ReaderScope, rt: RuntimeDep, enterprise_id: Id):
    return _read(rt, request, user, scope, "enterprise", enterprise_id)


@router.post("/enterprise/{enterprise_id}", response_model=CaseOut, summary="Take, assign or move an enterprise lead",
             description=MOVE)
def move_enterprise_case(body: CaseIn, request: Request, user: CaseUser, scope: ReaderScope, rt: RuntimeDep,
                         enterprise_id: Id):
    return _move(rt, request, user, scope, "enterprise", enterprise_id, body)


@router.get("/tip/{tip_id}", response_model=CaseOut, summary="A tip lead's case and history")
def tip_case(request: Request, user: CaseUser, scope: ReaderScope, rt: RuntimeDep, tip_id: Id):
    return _read(rt, request, user, scope, "tip", tip_id)


@router.post("/tip/{tip_id}", response_model=CaseOut, summary="Take, assign or move a tip lead", description=MOVE)
def move_tip_case(body: CaseIn, request: Request, user: CaseUser, scope: ReaderScope, rt: RuntimeDep, tip_id: Id):
    return _move(rt, request, user, scope, "tip", tip_id, body)


@router.get("/site/{site_id}", response_model=CaseOut, summary="A site lead's case and history")
def site_case(request: Request, user: CaseUser, scope: ReaderScope, rt: RuntimeDep, site_id: Id):
    return _read(rt, request, user, scope, "site", site_id)


@router.post("/site/{site_id}", response_model=CaseOut, summary="Take, assign or move a site lead", description=MOVE)
def move_site_case(body: CaseIn, request: Request, user: CaseUser, scope: ReaderScope, rt: RuntimeDep, site_id: Id):
    return _move(rt, request, user, scope, "site", site_id, body)
