"""The chain pieces of site and enterprise pages: where a stop's load came from, what an enterprise's waste rode in."""

from __future__ import annotations

from pydantic import Field

from serving.schemas.common import LocalTime, Num, Out


class SourceManifest(Out):
    manifest_id: str
    departed_at: LocalTime | None = None
    waste_code: str
    waste_text: str | None = None
    quantity_t: Num = None
    producer_id: str | None = Field(None, description="None: outside the reader's county")
    producer_name: str | None = None
    hours_before: Num = None


class StopSources(Out):
    vehicle_id: str
    stop_start: LocalTime
    manifests: list[SourceManifest] = []


class ChainVehicle(Out):
    vehicle_id: str
    manifests: int
    tonnes: Num = None
    driving_score: Num = None


class ChainReceiver(Out):
    enterprise_id: str
    name: str | None = None
    manifests: int
    tonnes: Num = None


class ChainSite(Out):
    site_id: str
    vehicle_ids: list[str] = []


class EnterpriseChain(Out):
    vehicles: list[ChainVehicle] = []
    receivers: list[ChainReceiver] = []
    sites: list[ChainSite] = []
