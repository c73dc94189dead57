"""The case desk: a lead's status, assignee, due date and history; the bureau's handovers to the police."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import Field, model_validator

from serving.schemas.common import In, Num, Out, Page, UtcTime

Status = Literal["待核查", "核查中", "已立案", "已移送", "已结案-属实", "已结案-不属实"]
Kind = Literal["enterprise", "tip", "site"]
Finding = Literal["整改", "罚款", "移送公安"]


class CaseStep(Out):
    at: UtcTime
    user: str | None = None
    action: str
    status_from: str | None = None
    status_to: str | None = None
    assignee: str | None = None
    due: dt.date | None = None
    note: str | None = Field(None, description="withheld on an informant tip's case from readers not entitled")


class CaseOut(Out):
    entity_kind: str
    entity_id: str
    county: str | None = None
    name: str | None = Field(None, description="the enterprise's name (enterprise leads)")
    status: str
    assignee_id: int | None = None
    assignee: str | None = None
    due: dt.date | None = None
    overdue: bool = Field(False, description="past its due date and not concluded")
    updated_at: UtcTime | None = None
    history: list[CaseStep] | None = None


class CasePage(Page):
    items: list[CaseOut]


class CaseIn(In):
    """What to change; omitted fields stay as they are. ``take``: assign the lead to yourself."""

    status: Status | None = None
    take: bool = False
    assignee_id: int | None = Field(None, ge=1, description="give the lead to this investigator")
    due: dt.date | None = None
    note: str | None = Field(None, max_length=2000)

    @model_validator(mode="after")
    def _one_assignee(self) -> CaseIn:
        if self.take and self.assignee_id is not None:
            raise ValueError("take (yourself) or assignee_id, not both")
        if self.due is not None and not (dt.date(2000, 1, 1) <= self.due <= dt.date(2100, 1, 1)):
            raise ValueError("due must be between 2000-01-01 and 2100-01-01")
        return self


class Assignee(Out):
    id: int
    name: str
    county: str | None = None


class AssigneeList(Out):
    items: list[Assignee]


class HandoverIn(In):
    enterprise_id: str = Field(min_length=1, max_length=64)
    findings: list[Finding] = Field(min_length=1, max_length=3, description="整改, 罚款, 移送公安 (hands the case to the police)")
    fine_yuan: float | None = Field(None, ge=0, le=1e10, description="fine (yuan), with 罚款")
    tonnes: float | None = Field(None, ge=0, le=1e6, description="hazardous waste found (tonnes)")
    note: str | None = Field(None, max_length=4000)
    evidence: list[str] = Field(default_factory=list, max_length=50,
                                description="further evidence pointers (document numbers, photos, sampling reports)")

    @model_validator(mode="after")
    def _fine(self) -> HandoverIn:
        if len(set(self.findings)) != len(self.findings):
            raise ValueError("findings: each at most once")
        if (self.fine_yuan is not None) != ("罚款" in self.findings):
            raise ValueError("fine_yuan goes with the finding 罚款 (and 罚款 needs it)")
        if any(len(e) > 500 for e in self.evidence):
            raise ValueError("evidence: each pointer at most 500 characters")
        return self


class ReturnIn(In):
    reason: str = Field(min_length=2, max_length=2000, description="why the police return the case")


class AcceptIn(In):
    note: str | None = Field(None, max_length=2000)


class HandoverOut(Out):
    id: int
    enterprise_id: str
    name: str | None = None
    county: str | None = None
    findings: list[str]
    fine_yuan: Num = None
    tonnes: Num = None
    note: str | None = None
    evidence: dict[str, Any] = {}
    status: Literal["recorded", "handed", "accepted", "returned"]
    recorded_by: str | None = None
    recorded_at: UtcTime
    decided_by: str | None = None
    decided_at: UtcTime | None = None
    reason: str | None = None
    days_since_handover: Num = Field(None, description="days from handover to the decision, or to now while undecided")
    limit_days: int = Field(description="days the police have to decide (configuration handover_decision_days)")
    overdue: bool = Field(False, description="undecided past the limit, or decided after it")


class HandoverPage(Page):
    items: list[HandoverOut]
