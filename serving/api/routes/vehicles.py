"""Vehicles: the list ranked by driving (speeding, fatigue, restricted zones, the terminal silent,
carrying without a permit) and one vehicle's chain: carrier, permit, events, stops, manifests,
producers and receivers (``serving.chain``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import TypeAdapter

from serving import chain, evidence, readable
from serving.api.deps import Limit, Offset, ReaderScope, RuntimeDep, VehicleReader, lang_of, record
from serving.api.present import manifest_out
from serving.api.routes.enterprises import not_found
from serving.jobs import NotReady
from serving.listcache import Answer, list_key
from serving.repo import runs
from serving.schemas.common import ERRORS, NOT_FOUND, Lang
from serving.schemas.vehicles import VehicleDetail, VehicleLeadPage

router = APIRouter(prefix="/v1/vehicles", tags=["vehicles"], responses={**ERRORS, **NOT_FOUND})
County = Annotated[str | None, Query(min_length=1, max_length=64, description="only vehicles with events in this county")]
MinScore = Annotated[float | None, Query(ge=0.0, le=1.0)]
PAGE = TypeAdapter(VehicleLeadPage)


def _ready(rt) -> None:
    if rt.snapshot is None or rt.features is None:
        raise NotReady(rt.problem or "the evidence tables are still being built")


@router.get("", response_model=VehicleLeadPage, summary="Vehicles ranked by their driving violations")
def vehicle_leads(request: Request, user: VehicleReader, scope: ReaderScope, rt: RuntimeDep, county: County = None,
                  min_score: MinScore = None, limit: Limit = 50, offset: Offset = 0, lang: Lang | None = None):
    """The vehicle list of the features being served (the list ``hazleads score`` writes as
    vehicle_leads.csv): the driving rules' score, event counts by category and reasons with the worst
    event's time and place. County readers see the vehicles with events in their county, ranked among them."""
    _ready(rt)
    lg = lang_of(rt, lang)
    # kept per reader like the lead lists (serving.listcache), but valid while the features being served
    # are: the list is made from them and the snapshot, never from the database. The version is read
    # first, so the answer computed below is at least as new as the version it is kept under.
    version = rt.features_version
    key = list_key("vehicle", user, rt, request.scope.get("query_string", b""))
    answer = rt.lists.get(key, version)
    if answer is None:
        out = chain.vehicle_page(rt, scope, lg, county, min_score, limit, offset)
        body = PAGE.dump_json(PAGE.validate_python(out), by_alias=True)  # as FastAPI renders the response model
        answer = Answer(version, body, tuple(i["vehicle_id"] for i in out["items"]), "driving rules")
        rt.lists.put(key, answer)
    record(rt, request, user, "vehicles.list", answer.ids, model_version=answer.model_version)
    return Response(answer.body, media_type="application/json")


@router.get("/{vehicle_id}", response_model=VehicleDetail, summary="One vehicle and its chain")
def vehicle_detail(vehicle_id: Annotated[str, Path(min_length=1, max_length=64)], request: Request, user: VehicleReader,
                   scope: ReaderScope, rt: RuntimeDep, lang: Lang | None = None):
    """Its carrier and permit, its rank and reasons, its driving events with time and place (for the
    map and the timeline), GPS gaps, stops (suspicious first, each with the places near it and its
    candidate site), the manifests it carried (parties outside the reader's county not named), and
    the producers and receivers it served. A vehicle not of the reader's county answers 404."""
    _ready(rt)
    idx = chain.index_for(rt)
    if not idx.visible(scope, vehicle_id):
        raise not_found(rt, request, user, "vehicle.read", vehicle_id, "vehicle")
    lg = lang_of(rt, lang)
    with rt.db.read() as s:
        sites = readable.site_table(s, runs.current_run(s, rt.digest, None))
    veh = rt.snapshot.vehicles
    row = veh[veh["vehicle_id"].astype(str) == vehicle_id].iloc[0]
    carrier = scope.enterprise_id(evidence._v(row.get("transporter_id")))
    names = readable.enterprise_names(rt, scope, [carrier] if carrier else [])
    manifests = readable.manifests(rt, scope, [manifest_out(m, scope) for m in chain.vehicle_manifests(rt, vehicle_id)], lg)
    stops = readable.stops(rt, scope, chain.vehicle_stops(rt, vehicle_id), lg, sites)
    events = chain.event_rows(rt, idx, vehicle_id, lg)
    partner_rows = chain.partners(rt, scope, manifests)
    lead = None
    if vehicle_id in idx.ranked.index:
        lead = chain.vehicle_item(rt, scope, idx, vehicle_id, chain.rank_for(scope, idx, vehicle_id), lg)
    others = []
    if carrier is not None:
        v = idx.ranked
        others = sorted(str(x) for x in v.index[(v["transporter_id"].astype(str) == carrier) & (v["event_count"] > 0)]
                        if str(x) != vehicle_id)[:chain.MAX_OTHERS]
    out = {
        "vehicle": {"vehicle_id": vehicle_id, "transporter_id": carrier, "transporter_name": names.get(carrier),
                    "hazmat_permit": evidence._v(row.get("hazmat_permit")), "capacity_t": evidence._v(row.get("capacity_t"))},
        "as_of": idx.as_of.date(), "lead": lead, "carrier_vehicles": others, "events": events,
        "gps_gaps": [e for e in events if e["category"] == "silent"], "stops": stops, "manifests": manifests,
        "partners": partner_rows, "map": chain.vehicle_map(rt, scope, vehicle_id, events, stops, manifests, partner_rows),
    }
    record(rt, request, user, "vehicle.read", [vehicle_id], model_version="driving rules")
    return out
