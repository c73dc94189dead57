"""Enterprise and site detail: profile, score history, reasons and the evidence itself."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import Field

from serving.schemas.chain import EnterpriseChain, StopSources
from serving.schemas.common import FeatureCollection, LocalTime, Num, Out, UtcTime
from serving.schemas.evidence import EvidenceRows
from serving.schemas.leads import ListInfo


class Profile(Out):
    enterprise_id: str
    name: str
    credit_code: str | None = None
    industry_code: str
    county: str
    lat: Num = None
    lon: Num = None
    park: str | None = None
    key_discharge_unit: bool | None = None
    roles: list[str]
    employees: int | None = None
    opened: dt.date | None = None
    categories: list[str] = Field(default_factory=list, description="waste categories handled (HWxx)")
    industry_text: str | None = Field(None, description="GB/T 4754 code and name")
    category_texts: list[str] = Field(default_factory=list, description="the categories with their names")


class ScorePoint(Out):
    as_of: dt.date
    score: Num
    rank: int
    exploration: bool
    model_version: str | None = None
    run_id: int


class LedgerMonth(Out):
    month: str
    waste_code: str
    category: str
    generated_t: Num = None
    accounted_t: Num = None
    balance_gap_t: Num = None
    manifest_gap_t: Num = None
    receipt_gap_t: Num = None
    power_gap_t: Num = None
    unaccounted_t: Num = Field(None, description="positive gaps beyond rounding, power counted half (tonnes)")
    score: Num = None


class PowerMonth(Out):
    month: str
    kwh: Num = None
    night_kwh: Num = None
    generated_t: Num = Field(None, description="waste declared generated that month, all codes (tonnes)")


class ManifestOut(Out):
    manifest_id: str
    producer_id: str | None = Field(None, description="None: an enterprise outside the reader's county")
    transporter_id: str | None = Field(None, description="None: an enterprise outside the reader's county")
    receiver_id: str | None = Field(None, description="None: an enterprise outside the reader's county")
    vehicle_id: str
    waste_code: str
    quantity_t: Num = None
    departed_at: LocalTime | None = None
    received_t: Num = None
    received_at: LocalTime | None = None
    receiver_licence: str | None = None
    transport_licence: str | None = None
    hazmat_permit: bool | None = None
    overdue: bool | None = None
    late: bool | None = None
    shrink_t: Num = None
    transit_h: Num = None
    cross_county: bool | None = None
    flags: list[str] = Field(default_factory=list, description="what is wrong with it, if anything")
    waste_text: str | None = Field(None, description="the code with its category's name")
    producer_name: str | None = None
    transporter_name: str | None = None
    receiver_name: str | None = None


class StopOut(Out):
    vehicle_id: str
    start: LocalTime
    end: LocalTime
    lat: float
    lon: float
    duration_min: Num = None
    night: bool | None = None
    loaded: bool | None = None
    manifest_id: str | None = None
    water_m: Num = None
    water_name: str | None = None
    karst_m: Num = None
    protected_m: Num = None
    suspicion: Num = None
    why: list[str] = Field(default_factory=list)
    place: str | None = Field(None, description="the nearest village or town and river or road, with distances")
    site_id: str | None = Field(None, description="the candidate site the stop belongs to, if any the reader may see")


class TipRef(Out):
    tip_id: str
    received_at: LocalTime
    channel: str
    score: Num = None


class OutcomeRef(Out):
    id: int
    case_id: str
    outcome: str
    violation: str | None = None
    tonnes: Num = None
    opened: dt.date
    recorded_at: UtcTime


class EnterpriseDetail(Out):
    profile: Profile
    run: ListInfo | None = None
    score: Num = None
    rank: int | None = None
    exploration: bool = False
    reasons: list[str] = []
    evidence: dict[str, dict[str, Any]] = {}
    evidence_rows: EvidenceRows = Field(default_factory=EvidenceRows, description="the evidence as an officer reads it")
    history: list[ScorePoint] = []
    ledger: list[LedgerMonth] = []
    power: list[PowerMonth] = []
    manifests: list[ManifestOut] = []
    manifests_total: int = 0
    stops: list[StopOut] = []
    chain: EnterpriseChain = Field(default_factory=EnterpriseChain,
                                   description="vehicles that carried its waste, its receivers, sites those vehicles stopped at")
    tips: list[TipRef] | None = Field(None, description="tips naming it (roles that may read tips only)")
    outcomes: list[OutcomeRef] | None = Field(None, description="recorded outcomes (roles that record them only)")
    map: FeatureCollection


class VehicleOut(Out):
    vehicle_id: str
    transporter_id: str | None = Field(None, description="None if unknown or outside the reader's county")
    transporter_name: str | None = None
    hazmat_permit: bool | None = None


class EnterpriseRef(Out):
    enterprise_id: str
    name: str | None = None
    county: str | None = None


class SiteDetail(Out):
    site_id: str
    run: ListInfo
    lat: Num = None
    lon: Num = None
    county: str | None = None
    score: Num = None
    rank: int
    reasons: list[str] = []
    evidence: dict[str, dict[str, Any]] = {}
    evidence_rows: EvidenceRows = Field(default_factory=EvidenceRows, description="the evidence as an officer reads it")
    place: str | None = Field(None, description="the nearest village or town and river or road, with distances")
    history: list[ScorePoint] = []
    stops: list[StopOut] = []
    vehicles: list[VehicleOut] = []
    sources: list[StopSources] = Field(default_factory=list, description="per stop: the manifests its vehicle had departed in the hours before")
    enterprises: list[EnterpriseRef] = []
    outcomes: list[OutcomeRef] = []
    map: FeatureCollection

