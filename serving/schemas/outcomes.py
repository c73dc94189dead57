"""Outcomes of investigations, recorded against an enterprise, a tip or a site."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, model_validator

from serving.schemas.common import In, Num, Out, Page, UtcTime

Violation = Literal["dumping_3t", "covert_discharge", "water_dumping", "unlicensed_operation",
                    "supplying_unlicensed", "other"]


class OutcomeIn(In):
    entity_kind: Literal["enterprise", "tip", "site"]
    entity_id: str = Field(min_length=1, max_length=64)
    outcome: Literal["confirmed", "unfounded", "open"]
    violation: Violation | None = Field(None, description="required when confirmed")
    tonnes: float | None = Field(None, ge=0, le=1_000_000, description="waste involved (tonnes)")
    criminal: bool | None = Field(None, description="transferred for criminal prosecution")
    opened: dt.date | None = Field(None, description="day the investigation opened; default today (Asia/Shanghai)")
    note: str | None = Field(None, max_length=2000)

    @model_validator(mode="after")
    def _violation(self) -> OutcomeIn:
        if self.outcome == "confirmed" and self.violation is None:
            raise ValueError("a confirmed outcome needs a violation code")
        if self.outcome != "confirmed" and self.violation is not None:
            raise ValueError("a violation code belongs to confirmed outcomes only")
        if self.opened is not None and not (dt.date(2000, 1, 1) <= self.opened <= dt.date.today() + dt.timedelta(days=1)):
            raise ValueError("opened must be between 2000-01-01 and today")
        return self


class OutcomeOut(Out):
    id: int
    case_id: str = Field(description="the id it carries as a training label (the contract's cases.case_id)")
    entity_kind: str
    entity_id: str
    outcome: str
    violation: str | None = None
    tonnes: Num = None
    criminal: bool | None = None
    opened: dt.date
    note: str | None = None
    enterprise_id: str | None = None
    tip_id: str | None = None
    recorded_by: str | None = None
    recorded_at: UtcTime


class OutcomePage(Page):
    items: list[OutcomeOut]
