"""Who am I, filters for the page, the feature catalogue, health and readiness, the audit log."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from serving.schemas.common import Out, Page


class Me(Out):
    name: str
    role: str
    county: str | None = None
    sees_informants: bool
    may: list[str] = Field(description="resources this role may use")


class Filters(Out):
    counties: list[str]
    industries: list[str] = Field(description="GB/T 4754 divisions present (letter and two digits)")
    categories: list[str] = Field(description="waste categories present (HWxx)")
    as_of_dates: list[dt.date]
    snapshot_last_day: dt.date | None = None


class CatalogueEntry(Out):
    name: str
    entity: str
    source: str
    unit: str
    description_zh: str
    description_en: str
    direction: int


class Catalogue(Out):
    items: list[CatalogueEntry]


class Health(Out):
    status: str


class Ready(Out):
    ready: bool
    database: bool
    phase: str
    snapshot: bool
    features: bool
    models: dict[str, str | None]
    lead_list: bool
    problem: str | None = None


class AuditRow(Out):
    id: int
    at: str
    user_id: int | None = None
    user_name: str | None = None
    role: str | None = None
    action: str
    entity_ids: list[str]
    model_version: str | None = None
    result: str
    request_id: str | None = None
    prev_hash: str
    hash: str


class AuditPage(Page):
    items: list[AuditRow]


class AuditVerdict(Out):
    ok: bool
    rows: int
    first_bad_id: int | None = None
    reason: str = ""
    checkpoints: int = Field(0, description="signed checkpoints (outside the database) the chain was held to")
    legacy_rows: int = Field(0, description="rows from before the chain had a key, sealed by the first keyed row")


class EnterpriseName(Out):
    enterprise_id: str
    name: str
    county: str | None = None
    industry_code: str | None = None


class EnterpriseNames(Out):
    items: list[EnterpriseName]
