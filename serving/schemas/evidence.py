"""Evidence as an officer reads it (``serving.present_units``): labelled rows with units and pointers."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from serving.schemas.common import Num, Out


class Link(Out):
    kind: Literal["enterprise", "vehicle", "tip", "site", "manifest"]
    id: str


class Pointer(Out):
    field: str = Field(description="the evidence field (month, waste_code, manifest_id, ...)")
    label: str
    text: str = Field(description="the pointer spelt out: times to the minute, codes named")
    links: list[Link] = []


class EvidenceRow(Out):
    feature: str = Field(description="the catalogue's name (a key, not for display)")
    label: str = Field(description="what the value is, from the catalogue, in the asked language")
    value: Num = None
    value_text: str = Field(description="the value with its unit, rounded for reading")
    unit: str = ""
    pointers: list[Pointer] = []


class EvidenceRows(Out):
    evidence: list[EvidenceRow] = []
    profile: list[EvidenceRow] = Field(default_factory=list, description="profile facts (industry, size, age), apart")


class PlaceText(Out):
    text: str
    places: list[dict] = []
