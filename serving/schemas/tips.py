"""Tips: intake, list and detail (informant tips redacted for readers not entitled to them)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, model_validator

from serving.schemas.common import In, LocalTime, Num, Out, Page

Channel = Literal["12369", "110", "online", "informant", "patrol", "other"]


class TipIn(In):
    received_at: dt.datetime | None = Field(None, description="when it came in (ISO 8601; local time if no offset); default now")
    channel: Channel
    text: str = Field(min_length=1, max_length=4000)
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    county: str | None = Field(None, min_length=1, max_length=64)
    enterprise_id: str | None = Field(None, min_length=1, max_length=64, description="the enterprise it names")

    @model_validator(mode="after")
    def _both_or_neither(self) -> TipIn:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon, or neither")
        return self


class StopNearby(Out):
    vehicle_id: str
    start: LocalTime
    end: LocalTime
    lat: float
    lon: float
    distance_m: Num = None
    night: bool | None = None


class NamedEnterprise(Out):
    enterprise_id: str
    unaccounted_t_365d: Num = None
    unlicensed_receiver_t_365d: Num = None
    night_share_excess_90d: Num = None
    prior_confirmed_cases: Num = None


class Corroboration(Out):
    stops_nearby: list[StopNearby] = Field(default_factory=list, description="off-site vehicle stops within 2 km in the 7 days before")
    similar_tips: int | None = None
    named_enterprise: NamedEnterprise | None = None


class TipOut(Out):
    tip_id: str
    source: Literal["snapshot", "intake"]
    received_at: LocalTime
    channel: str
    county: str | None = Field(None, description="jurisdiction")
    redacted: bool = False
    text: str | None = None
    lat: Num = None
    lon: Num = None
    enterprise_id: str | None = None
    score: Num = None
    model_version: str | None = None
    reasons: list[str] = []
    status: Literal["open", "investigated"] = "open"


class TipPage(Page):
    items: list[TipOut]


class TipDetail(TipOut):
    enterprise_ids: list[str] = []
    vehicle_ids: list[str] = []
    corroboration: Corroboration | None = None
    outcomes: list[int] = Field(default_factory=list, description="ids of outcomes recorded against it")


class TipIntakeOut(TipDetail):
    scored_in_ms: float
