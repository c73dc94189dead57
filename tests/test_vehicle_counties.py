"""Which counties a vehicle belongs to, so which county readers see it (``serving.chain.VehicleIndex``):
its carrier's county, the county of every party of the manifests it carried, and the county of the
nearest registered enterprise to each stop it made away from a registered site. Worked out by
hand on six enterprises in five counties; a link to a party without a county, or a missing party,
adds nothing, and a vehicle the registry does not know is seen by nobody."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from serving.chain import VehicleIndex, prepare
from serving.context import SnapshotContext

ENTERPRISES = pd.DataFrame({
    "enterprise_id": ["E1", "E2", "E3", "E4", "E5", "E6"],
    "name": ["产废甲", "运输乙", "处置丙", "产废丁", "产废戊", "无县己"],
    "county": ["七星区", "七星区", "临桂区", "阳朔县", "灵川县", None],
    "industry_code": ["2614"] * 6,
    "lat": [25.28, 25.29, 25.20, 24.78, 25.41, 25.00],
    "lon": [110.29, 110.30, 110.20, 110.49, 110.32, 110.00],
})


def world():
    snap = SimpleNamespace(enterprises=ENTERPRISES, vehicles=pd.DataFrame({
        "vehicle_id": ["V1", "V2", "V3", "V4", "V5"], "transporter_id": ["E2", "E2", "E2", "E6", "E3"]}))
    manifests = pd.DataFrame({  # (vehicle, producer, transporter, receiver)
        "vehicle_id": ["V1", "V1", "V2", "V4", "V9"],
        "producer_id": ["E1", "E1", "E4", "E6", "E4"],
        "transporter_id": ["E2", "E2", "E2", "E6", "E2"],
        "receiver_id": ["E3", "E4", "E3", None, "E3"],
    })
    stops = pd.DataFrame({"vehicle_id": ["V3", "V3", "V5"], "lat": [24.781, 25.409, 25.001], "lon": [110.491, 110.321, 110.001],
                          "registered": [False, True, False]})
    fs = SimpleNamespace(as_of=pd.Timestamp("2021-04-01"), driving=None, stops=stops, manifest_checks=manifests)
    return fs, snap, SnapshotContext(snap)


def test_each_vehicle_belongs_to_its_carrier_its_manifests_parties_and_its_unregistered_stops():
    idx = VehicleIndex(*world())
    assert idx.counties == {
        "V1": {"七星区", "临桂区", "阳朔县"},  # carrier E2; E1 to E3, then E1 to E4 (阳朔县 only as a receiver)
        "V2": {"七星区", "阳朔县", "临桂区"},  # E4's waste (阳朔县 only as a producer)
        "V3": {"七星区", "阳朔县"},  # a stop by E4, none by E5 (that stop was at a registered site)
        "V5": {"临桂区"},  # its carrier E3; its stop is by E6, which has no county
        "V9": {"阳朔县", "七星区", "临桂区"},  # on a manifest, not in the registry
    }  # V4: carried by E6 (no county), E6's waste to no receiver: no county at all


@pytest.mark.parametrize(("county", "seen"), [("阳朔县", {"V1", "V2", "V3"}), ("灵川县", set()), ("临桂区", {"V1", "V2", "V5"})])
def test_a_county_reader_sees_the_vehicles_of_their_county_and_none_unknown_to_the_registry(county, seen):
    idx = VehicleIndex(*world())
    reader = SimpleNamespace(city_wide=False, county=county)
    assert {v for v in ("V1", "V2", "V3", "V4", "V5", "V9") if idx.visible(reader, v)} == seen
    city = SimpleNamespace(city_wide=True, county=None)
    assert {v for v in ("V1", "V2", "V3", "V4", "V5", "V9") if idx.visible(city, v)} == {"V1", "V2", "V3", "V4", "V5"}


def test_a_missing_party_never_takes_the_county_of_an_enterprise_without_an_id():
    """An enterprise row without an id (a snapshot that was not validated) must not lend its county
    to every manifest with a missing party: the lookup of a missing id finds nothing."""
    fs, snap, _ = world()
    nameless = pd.concat([ENTERPRISES, pd.DataFrame({"enterprise_id": [None], "name": ["无名"], "county": ["灵川县"],
                                                     "industry_code": ["2614"], "lat": [20.0], "lon": [100.0]})],
                         ignore_index=True)
    snap.enterprises = nameless
    ctx = SnapshotContext(snap)
    assert any(k is None or k != k for k in ctx.county_of)  # the missing id is a key
    idx = VehicleIndex(fs, snap, ctx)
    assert "V4" not in idx.counties and all("灵川县" not in c for c in idx.counties.values())


def test_the_index_is_built_once_per_feature_set():
    fs, snap, ctx = world()
    first = prepare(fs, snap, ctx)
    assert prepare(fs, snap, ctx) is first
    other = SimpleNamespace(**{**vars(fs), "manifest_checks": fs.manifest_checks.iloc[:0]})
    assert prepare(other, snap, ctx) is not first and "V9" not in prepare(other, snap, ctx).counties
    assert first.county_at([24.781, np.nan], [110.491, 110.0]).tolist() == ["阳朔县", None]


def test_features_are_served_even_when_their_vehicle_index_fails(service, monkeypatch):
    """Building the index when features are served must not cost the service its features: a
    failure there leaves the vehicle pages to build it (and fail as they did before), every other
    page reads the new features."""
    import serving.chain as chain

    rt = service.rt
    fs = rt.build_features(rt.snapshot.last_day - pd.Timedelta(days=40))

    def broken(*_):
        raise RuntimeError("planted")

    monkeypatch.setattr(chain, "VehicleIndex", broken)
    rt.serve_features(fs)
    assert rt.features is fs and id(fs) not in chain._indexes
    assert service.get("inv", "/v1/leads/enterprises").status_code == 200
    monkeypatch.undo()
    vehicles = service.get("inv", "/v1/vehicles")
    assert vehicles.status_code == 200 and vehicles.json()["as_of"] == str(fs.as_of.date())
    assert chain._indexes[id(fs)][0] is fs  # built by the first page that needed it
