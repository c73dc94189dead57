"""Handovers between the environment bureau and the police: the bureau records its findings on an
enterprise (整改, 罚款, 移送公安) and hands a case over with its evidence file; the police accept it or
return it with a reason. The time since handover is shown and flagged past the legal limit
(``handover_decision_days``, 《行政执法机关移送涉嫌犯罪案件的规定》第八条). Every step is audited in
the transaction that makes it."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request

from serving import audit
from serving.api.deps import (
    HandoverDecider,
    HandoverReader,
    HandoverWriter,
    Limit,
    Offset,
    ReaderScope,
    RuntimeDep,
    record,
    request_id,
)
from serving.api.present import user_names
from serving.api.routes.enterprises import not_found
from serving.db.models import Handover
from serving.repo import handovers as repo
from serving.repo import runs
from serving.schemas.cases import AcceptIn, HandoverIn, HandoverOut, HandoverPage, ReturnIn
from serving.schemas.common import ERRORS, NOT_FOUND
from serving.scope import Scope

router = APIRouter(prefix="/v1/handovers", tags=["handovers"], responses={**ERRORS, **NOT_FOUND})
HandoverId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def handover_out(rt, scope: Scope, h: Handover, names: dict[int, str]) -> dict:
    """A handover as the reader may see it: ids of other counties in its free text masked."""
    limit = rt.settings.handover_decision_days
    days = repo.elapsed_days(h)
    evidence = repo.readable_file(json.loads(h.evidence or "{}"), scope)
    ent = rt.ctx.enterprises["name"] if rt.ctx is not None else {}
    return {"id": h.id, "enterprise_id": h.enterprise_id, "name": str(ent[h.enterprise_id]) if h.enterprise_id in ent else None,
            "county": h.jurisdiction, "findings": repo.findings_of(h), "fine_yuan": h.fine_yuan, "tonnes": h.tonnes,
            "note": scope.text(h.note or "") or None, "evidence": evidence, "status": h.status,
            "recorded_by": names.get(h.recorded_by), "recorded_at": h.recorded_at, "decided_by": names.get(h.decided_by),
            "decided_at": h.decided_at, "reason": scope.text(h.reason or "") or None,
            "days_since_handover": round(days, 2) if days is not None else None, "limit_days": limit,
            "overdue": repo.overdue(h, limit)}


def _one(rt, s, scope: Scope, handover_id: int) -> Handover | None:
    h = s.get(Handover, handover_id)
    return h if h is not None and scope.county_ok(h.jurisdiction) and scope.enterprise_ok(h.enterprise_id) else None


@router.post("", response_model=HandoverOut, status_code=201, summary="The bureau records findings and hands a case over")
def create_handover(body: HandoverIn, request: Request, user: HandoverWriter, scope: ReaderScope, rt: RuntimeDep):
    """整改 and 罚款 are recorded; 移送公安 hands the case to the police with its evidence file (the
    enterprise's ledger mismatch rows, outcomes, and ``evidence`` pointers) and moves its lead to 已移送."""
    if not scope.enterprise_known(body.enterprise_id):
        raise not_found(rt, request, user, "handover.create", body.enterprise_id, "enterprise")
    county = rt.ctx.county_of[body.enterprise_id]
    with rt.db.write() as s:
        run = runs.current_run(s, rt.digest, None, "mismatch")
        file = repo.evidence_file(s, scope, body.enterprise_id, run, body.evidence)
        h = repo.create(s, user.id, body.enterprise_id, county, list(body.findings), body.fine_yuan, body.tonnes,
                        body.note, file)
        audit.append(s, user, "handover.create", [body.enterprise_id, str(h.id)], result=h.status,
                     request_id=request_id(request))
        return handover_out(rt, scope, h, {user.id: user.name})


@router.get("", response_model=HandoverPage, summary="Findings and handovers, newest first")
def list_handovers(request: Request, user: HandoverReader, scope: ReaderScope, rt: RuntimeDep,
                   status: Literal["recorded", "handed", "accepted", "returned"] | None = None,
                   enterprise_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
                   overdue: Annotated[bool, Query(description="only undecided handovers past the legal limit")] = False,
                   limit: Limit = 50, offset: Offset = 0):
    with rt.db.read() as s:
        total, rows = repo.page(s, scope, status=status, enterprise_id=enterprise_id,
                                overdue_days=rt.settings.handover_decision_days if overdue else None,
                                limit=limit, offset=offset)
        names = user_names(s, [h.recorded_by for h in rows] + [h.decided_by for h in rows])
    record(rt, request, user, "handover.list", [str(h.id) for h in rows])
    return {"total": total, "limit": limit, "offset": offset, "items": [handover_out(rt, scope, h, names) for h in rows]}


@router.get("/{handover_id}", response_model=HandoverOut, summary="One handover with its evidence file")
def read_handover(request: Request, user: HandoverReader, scope: ReaderScope, rt: RuntimeDep, handover_id: HandoverId):
    with rt.db.read() as s:
        h = _one(rt, s, scope, handover_id)
        names = user_names(s, [h.recorded_by, h.decided_by]) if h is not None else {}
    if h is None:
        raise not_found(rt, request, user, "handover.read", str(handover_id), "handover")
    record(rt, request, user, "handover.read", [h.enterprise_id, str(h.id)])
    return handover_out(rt, scope, h, names)


def _decide(rt, request: Request, user, scope: Scope, handover_id: int, accept: bool, reason: str | None,
            note: str | None = None) -> dict:
    action = "handover.accept" if accept else "handover.return"
    with rt.db.read() as s:
        visible = _one(rt, s, scope, handover_id) is not None
    if not visible:
        raise not_found(rt, request, user, action, str(handover_id), "handover")
    with rt.db.write() as s:
        h = _one(rt, s, scope, handover_id)
        if h.status != "handed":
            raise HTTPException(409, f"handover {handover_id} is {h.status}: only a handed-over case can be accepted "
                                     f"or returned / 只有已移送待接收的案件可以接收或退回")
        repo.decide(s, h, user.id, accept, reason if not accept else note)
        audit.append(s, user, action, [h.enterprise_id, str(h.id)], result=h.status, request_id=request_id(request))
        names = user_names(s, [h.recorded_by, h.decided_by])
        return handover_out(rt, scope, h, names)


@router.post("/{handover_id}/accept", response_model=HandoverOut, summary="The police accept a handed-over case")
def accept_handover(body: AcceptIn, request: Request, user: HandoverDecider, scope: ReaderScope, rt: RuntimeDep,
                    handover_id: HandoverId):
    """The enterprise's lead moves to 已立案."""
    return _decide(rt, request, user, scope, handover_id, True, None, body.note)


@router.post("/{handover_id}/return", response_model=HandoverOut, summary="The police return a case with a reason")
def return_handover(body: ReturnIn, request: Request, user: HandoverDecider, scope: ReaderScope, rt: RuntimeDep,
                    handover_id: HandoverId):
    """The enterprise's lead goes back to 核查中, the reason in its history."""
    return _decide(rt, request, user, scope, handover_id, False, body.reason)
