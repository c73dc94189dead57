"""Lead lists: enterprises, tips and candidate sites, ranked."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import Field

from serving.schemas.common import LocalTime, Num, Out, Page, UtcTime


class ListInfo(Out):
    run_id: int
    as_of: dt.date
    model_version: str | None = Field(description="version of the model that produced the list (rules for sites)")
    snapshot_digest: str
    created_at: UtcTime


class LeadBase(Out):
    rank: int = Field(description="1 is the strongest open lead (concluded leads left out); within the county for "
                                  "county-scoped readers; a concluded lead keeps its list_rank")
    list_rank: int | None = Field(None, description="the rank the scoring run gave it")
    status: str = Field("待核查", description="on the case desk: 待核查, 核查中, 已立案, 已移送, 已结案-属实, 已结案-不属实")
    assignee_id: int | None = None
    assignee: str | None = None
    due: dt.date | None = None
    score: Num = Field(description="calibrated probability in [0, 1] (a rule score for sites)")
    exploration: bool = Field(description="drawn below the cut so the model keeps learning (not a top lead)")
    inclusion_prob: Num = None
    county: str | None = None
    reasons: list[str]
    evidence: dict[str, dict[str, Any]] = Field(default_factory=dict,
                                                description="feature -> value and evidence pointers (month, manifest, …)")


class EnterpriseLead(LeadBase):
    enterprise_id: str
    name: str | None = None
    industry_code: str | None = None
    industry_name: str | None = Field(None, description="GB/T 4754 division of industry_code")
    lat: Num = None
    lon: Num = None


class TipLead(LeadBase):
    tip_id: str
    channel: str | None = None
    received_at: LocalTime | None = None
    redacted: bool = Field(False, description="informant tip: text and identifying fields withheld")
    text: str | None = Field(None, description="what the tip says (ids of other counties masked; none when redacted)")
    enterprise_ids: list[str] = []
    vehicle_ids: list[str] = []


class SiteLead(LeadBase):
    site_id: str
    lat: Num = None
    lon: Num = None
    vehicle_ids: list[str] = []
    enterprise_ids: list[str] = []


class EnterpriseLeadPage(Page):
    run: ListInfo
    items: list[EnterpriseLead]


class TipLeadPage(Page):
    run: ListInfo
    items: list[TipLead]


class SiteLeadPage(Page):
    run: ListInfo
    items: list[SiteLead]
