"""The campaign's statistics (``serving.repo.stats``)."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from serving.schemas.common import Num, Out


class Counts(Out):
    issued: int = Field(description="leads put on the desk")
    checked: int
    confirmed: int
    unfounded: int
    handed_over: int = Field(description="cases the bureau handed to the police")
    criminal: int = Field(description="enterprises with a handover accepted or an outcome recorded as criminal")
    tonnes: Num = Field(None, description="tonnes of hazardous waste in confirmed outcomes")
    median_days: Num = Field(None, description="median days from a lead going on the desk to its conclusion")


class MonthRow(Counts):
    county: str | None = None
    month: str


class StageRow(Counts):
    stage: str
    first_day: str | None = None


class PrecisionRow(Out):
    month: str
    as_of: dt.date
    kind: str
    k: int
    listed: int
    concluded: int
    confirmed: int
    precision: Num = Field(None, description="confirmed / concluded among the top k; none if nothing concluded")


class CampaignStats(Out):
    county: str | None = Field(None, description="the county the numbers are limited to; none: the whole city")
    by_month: list[MonthRow]
    by_stage: list[StageRow]
    totals: Counts
    precision: list[PrecisionRow]
