"""Who am I, the filter values for the page, the feature catalogue, and the map layers."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from serving.access import RULES, sees_informants
from serving.api.deps import AnyUser, ReaderScope, RuntimeDep
from serving.context import category
from serving.repo import runs
from serving.schemas.common import ERRORS, FeatureCollection
from serving.schemas.meta import Catalogue, Filters, Me

router = APIRouter(prefix="/v1", tags=["meta"], responses=ERRORS)
PlaceKind = Literal["river", "reservoir", "karst", "protected", "landfill"]


@router.get("/me", response_model=Me, summary="The signed-in user and what the role may use")
def me(user: AnyUser):
    return {"name": user.name, "role": user.role, "county": user.county, "sees_informants": sees_informants(user),
            "may": sorted(r for r, roles in RULES.items() if user.role in roles)}


@router.get("/filters", response_model=Filters, summary="Values for the list filters")
def filters(user: AnyUser, scope: ReaderScope, rt: RuntimeDep):
    snap = rt.snapshot
    if snap is None or scope.ctx is None:
        return {"counties": [], "industries": [], "categories": [], "as_of_dates": []}
    j = scope.county
    counties = [j] if j is not None else scope.ctx.counties()
    ents = snap.enterprises[[scope.enterprise_known(e) for e in snap.enterprises["enterprise_id"]]]
    cats = sorted({category(c) for c in snap.ledgers["waste_code"].unique()} - {""})
    with rt.db.read() as s:
        dates = sorted({r.as_of for r in runs.runs(s, rt.digest, 500)})
    return {"counties": counties, "industries": sorted(ents["industry_code"].astype(str).str[:3].unique()),
            "categories": cats, "as_of_dates": dates, "snapshot_last_day": snap.last_day.date()}


@router.get("/catalogue", response_model=Catalogue, summary="What every feature means (zh/en)")
def catalogue(user: AnyUser, entity: Literal["enterprise", "tip", "site", "vehicle"] | None = None):
    from features.catalogue import CATALOGUE

    return {"items": [{"name": s.name, "entity": s.entity, "source": s.source, "unit": s.unit,
                       "description_zh": s.description_zh, "description_en": s.description_en, "direction": s.direction}
                      for s in CATALOGUE.values() if entity is None or s.entity == entity]}


@router.get("/places", response_model=FeatureCollection, summary="Map layers: rivers, reservoirs, karst, protected areas")
def places(user: AnyUser, rt: RuntimeDep, kind: Annotated[list[PlaceKind] | None, Query(max_length=5)] = None):
    """The snapshot's ``places.geojson``, simplified to about 20 m, for maps drawn without a tile server."""
    fc = rt.places_geojson or {"type": "FeatureCollection", "features": []}
    if kind:
        fc = {"type": "FeatureCollection", "features": [f for f in fc["features"] if f["properties"].get("kind") in kind]}
    return fc
