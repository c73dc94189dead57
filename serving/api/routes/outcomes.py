"""Outcomes: what an investigation found, recorded against an enterprise, a tip or a site.

The row and its audit entry commit in one transaction before the answer is sent; the outcome is
a label for the next training run (``serving.repo.outcomes.recorded_outcomes``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request

from serving import audit
from serving.api.deps import Limit, Offset, OutcomeUser, ReaderScope, RuntimeDep, record, request_id
from serving.api.present import outcome_out, resolve_run, user_names
from serving.api.routes.enterprises import not_found
from serving.db.models import Outcome, Tip
from serving.repo import cases as cases_repo
from serving.repo import leads as leads_repo
from serving.repo import outcomes as repo
from serving.schemas.common import ERRORS, NOT_FOUND
from serving.schemas.outcomes import OutcomeIn, OutcomeOut, OutcomePage

router = APIRouter(prefix="/v1/outcomes", tags=["outcomes"], responses={**ERRORS, **NOT_FOUND})


def target_of(rt, s, scope, kind: str, entity_id: str) -> tuple[str | None, str | None, str | None, str | None] | None:
    """(jurisdiction, enterprise_id, tip_id, tip channel) of the entity, or None if the reader cannot see it."""
    if kind == "enterprise":
        if not scope.enterprise_known(entity_id):
            return None
        return rt.ctx.county_of[entity_id], entity_id, None, None
    if kind == "tip":
        tip = s.get(Tip, entity_id)
        if tip is None or not scope.county_ok(tip.jurisdiction):
            return None
        return tip.jurisdiction, tip.enterprise_id, tip.tip_id, tip.channel
    run = resolve_run(rt, s, None)
    lead = leads_repo.one(s, run, "site", entity_id)
    if lead is None or not scope.county_ok(lead.county):
        return None
    return lead.county, None, None, None


@router.post("", response_model=OutcomeOut, status_code=201, summary="Record what an investigation found")
def record_outcome(body: OutcomeIn, request: Request, user: OutcomeUser, scope: ReaderScope, rt: RuntimeDep):
    """Confirmed (with the violation code and tonnes), unfounded, or still open. Stored before the
    answer; becomes a training label (a tip's outcome also labels the enterprise it names). It moves
    the lead on the case desk: confirmed to 已结案-属实, unfounded to 已结案-不属实 (both leave the open
    lists at once), open an untouched lead to 核查中."""
    with rt.db.read() as s:
        target = target_of(rt, s, scope, body.entity_kind, body.entity_id)
    if target is None:
        raise not_found(rt, request, user, "outcome.create", body.entity_id, body.entity_kind)
    county, enterprise_id, tip_id, channel = target
    opened = body.opened or dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()
    with rt.db.write() as s:
        o = Outcome(entity_kind=body.entity_kind, entity_id=body.entity_id, jurisdiction=county, outcome=body.outcome,
                    violation=body.violation, tonnes=body.tonnes, criminal=body.criminal, opened=opened, note=body.note,
                    enterprise_id=enterprise_id, tip_id=tip_id, recorded_by=user.id)
        s.add(o)
        s.flush()
        audit.append(s, user, f"outcome.create.{body.entity_kind}", [body.entity_id, repo.case_id(o.id)],
                     result=body.outcome, request_id=request_id(request))
        # the lead moves on the desk in the same transaction (audited by the outcome's row above)
        cases_repo.on_outcome(s, user.id, body.entity_kind, body.entity_id, county, body.outcome, body.note)
    rt.metrics.outcomes_recorded.labels(body.outcome).inc()
    return outcome_out(o, scope, {user.id: user.name}, channel)


@router.get("", response_model=OutcomePage, summary="Recorded outcomes, newest first")
def list_outcomes(request: Request, user: OutcomeUser, scope: ReaderScope, rt: RuntimeDep,
                  entity_kind: Literal["enterprise", "tip", "site"] | None = None,
                  entity_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
                  limit: Limit = 50, offset: Offset = 0):
    """Outcomes filed under the reader's county. One recorded against an informant tip keeps its note
    and named enterprise from readers not entitled to informants; enterprises outside the reader's
    county are not named."""
    with rt.db.read() as s:
        total, rows = repo.page(s, scope, entity_kind, entity_id, limit, offset)
        names = user_names(s, [o.recorded_by for o, _ in rows])
    record(rt, request, user, "outcomes.list", [repo.case_id(o.id) for o, _ in rows])
    return {"total": total, "limit": limit, "offset": offset, "items": [outcome_out(o, scope, names, ch) for o, ch in rows]}


