"""Shared types: error bodies, numbers that are never NaN, GeoJSON, language."""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_validator

SHANGHAI = ZoneInfo("Asia/Shanghai")

Lang = Literal["zh", "en"]
EntityId = Annotated[str, Field(min_length=1, max_length=64)]


def _finite(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return None
    try:
        import numpy as np

        if isinstance(v, np.generic):
            v = v.item()
            return None if isinstance(v, float) and (math.isnan(v) or math.isinf(v)) else v
    except ImportError:  # pragma: no cover
        pass
    return v


Num = Annotated[float | None, BeforeValidator(_finite)]


def _zone(tz: dt.tzinfo):
    def attach(v: dt.datetime) -> dt.datetime:
        return v.replace(tzinfo=tz) if v.tzinfo is None else v

    return attach


# Stored times are zone-free: record-keeping times in UTC, the data's own times in local time
# (Asia/Shanghai, as the contract says). Answers always carry the offset.
UtcTime = Annotated[dt.datetime, AfterValidator(_zone(dt.UTC))]
LocalTime = Annotated[dt.datetime, AfterValidator(_zone(SHANGHAI))]


class Out(BaseModel):
    """Base of every response body."""

    model_config = ConfigDict(from_attributes=True)


class In(BaseModel):
    """Base of every request body: unknown fields are errors, and so is a NUL character in text
    (PostgreSQL cannot store one; a NUL is never part of a real name, note or tip)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, v: Any) -> Any:
        if isinstance(v, str) and "\x00" in v:
            raise ValueError("text may not contain a NUL character (\\0)")
        return v


class ErrorBody(Out):
    detail: str | list[dict[str, Any]] = Field(
        description="what went wrong and what would be accepted; for invalid fields, one entry per field (loc, msg, type)")
    request_id: str | None = Field(None, description="quote it when reporting a problem")


class Page(Out):
    total: int = Field(description="rows matching the filters within the reader's jurisdiction")
    limit: int
    offset: int


class Geometry(Out):
    type: Literal["Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon"]
    coordinates: list[Any]


class Feature(Out):
    type: Literal["Feature"] = "Feature"
    geometry: Geometry
    properties: dict[str, Any] = {}


class FeatureCollection(Out):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[Feature]


ERRORS = {
    401: {"model": ErrorBody, "description": "missing or invalid bearer token"},
    413: {"model": ErrorBody, "description": "request body over 64 KB"},
    422: {"model": ErrorBody, "description": "a parameter or field is not acceptable (each named, with what is)"},
    403: {"model": ErrorBody, "description": "the token is valid but its role may not do this"},
    503: {"model": ErrorBody, "description": "not ready (no lead list or model yet) or the database is unavailable"},
}
NOT_FOUND = {404: {"model": ErrorBody, "description": "no such entity within your jurisdiction"}}
