"""Vehicles: the ranked list by driving, one vehicle's chain, and the chain pieces of sites and enterprises."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from serving.schemas.common import FeatureCollection, LocalTime, Num, Out, Page
from serving.schemas.detail import ManifestOut, StopOut


class VehicleLead(Out):
    rank: int = Field(description="within the reader's county for county readers")
    vehicle_id: str
    score: Num = None
    transporter_id: str | None = Field(None, description="None if unknown or outside the reader's county")
    transporter_name: str | None = None
    reasons: list[str] = []
    counties: list[str] = Field(default_factory=list, description="counties its driving events were in (the reader's)")
    speeding_events: int = 0
    fatigue_events: int = 0
    restricted_events: int = 0
    silent_events: int = 0
    unpermitted_events: int = 0
    event_count: int = 0


class VehicleLeadPage(Page):
    as_of: dt.date = Field(description="the date of the driving events (the features being served)")
    items: list[VehicleLead]


class DrivingEvent(Out):
    event_id: str
    category: str
    category_text: str
    kind: str | None = None
    start: LocalTime
    end: LocalTime
    lat: Num = None
    lon: Num = None
    place: str | None = None
    value: Num = None
    limit: str | None = None
    unit: str | None = None
    manifest_id: str | None = None
    distance_km: Num = None
    driver_id: str | None = None


class Partner(Out):
    role: str
    enterprise_id: str
    name: str | None = None
    county: str | None = None
    manifests: int
    tonnes: Num = None


class VehicleFacts(Out):
    vehicle_id: str
    transporter_id: str | None = None
    transporter_name: str | None = None
    hazmat_permit: bool | None = None
    capacity_t: Num = None


class VehicleDetail(Out):
    vehicle: VehicleFacts
    as_of: dt.date
    lead: VehicleLead | None = None
    carrier_vehicles: list[str] = Field(default_factory=list, description="the carrier's other vehicles with events")
    events: list[DrivingEvent] = []
    gps_gaps: list[DrivingEvent] = Field(default_factory=list, description="the terminal silent (moving, or under a manifest)")
    stops: list[StopOut] = []
    manifests: list[ManifestOut] = []
    partners: list[Partner] = Field(default_factory=list, description="producers and receivers its manifests name")
    map: FeatureCollection
