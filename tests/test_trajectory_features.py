"""Trajectory evidence at an as-of date, on a hand-built night where every number is on paper.

2021-03-10: truck 桂C10001 (T1, hazmat permit) loads at producer P1 22:00–22:30 and leaves under
manifest M1 (P1 → R1, 10 t) at 22:30; it parks 20 minutes (22:50–23:10) about 48 m from the
Li River, 12 km from P1 and far from every enterprise; drives on to R1 at 20 km/h, its terminal
silent from 23:15 to 23:45; parks at R1 until 01:40. R1 confirms 8 t at 01:30 (2 t short).
2021-03-20: truck 桂C10002 (T1, no hazmat permit) parks at producer P2 10:00–10:30 with no
manifest, then 15 minutes at the same river spot, then goes home to T1's depot.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from features import load_snapshot
from features.catalogue import CATALOGUE
from features.trajectories import StopIndex
from features.trajectory_features import build_stop_index, merge_stays, trajectory_evidence
from tests.minimal_snapshot import write_minimal

AS_OF = pd.Timestamp("2021-03-31")
P1, P2 = (25.20, 110.20), (25.22, 110.25)
T1, R1 = (25.28, 110.42), (25.06, 110.30)
RIVER = [[110.29, 25.30], [110.35, 25.10]]  # lon, lat
# 50 m east of the river's midpoint (25.20, 110.32): 48 m from the line, which runs NNE–SSW
X = (25.20, 110.32 + 50.0 / (111_195.0 * np.cos(np.radians(25.20))))

ENTERPRISES = """enterprise_id,name,industry_code,county,lat,lon,roles
P1,化工一厂,C2661,临桂区,25.20,110.20,producer
P2,电镀二厂,C3360,临桂区,25.22,110.25,producer
T1,运输公司,G5430,七星区,25.28,110.42,transporter
R1,处置公司,N7724,雁山区,25.06,110.30,receiver
"""
VEHICLES = """vehicle_id,transporter_id,hazmat_permit,capacity_t
桂C10001,T1,true,10
桂C10002,T1,false,5
"""
LICENCES = """licence_id,enterprise_id,kind,waste_codes,capacity_t,valid_from,valid_to
L1,R1,disposal,HW08,1000,2020-01-01,2022-12-31
L2,T1,transport,HW08,,2020-01-01,2022-12-31
"""
MANIFEST_HEAD = "manifest_id,producer_id,transporter_id,receiver_id,vehicle_id,waste_code,quantity_t,departed_at,received_t,received_at\n"
MANIFESTS = MANIFEST_HEAD + "M1,P1,T1,R1,桂C10001,900-249-08,10,2021-03-10T22:30:00,8,2021-03-11T01:30:00\n"
PLACES = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "properties": {"kind": "river", "name": "漓江"}, "geometry": {"type": "LineString", "coordinates": RIVER}},
    {"type": "Feature", "properties": {"kind": "karst", "name": "某溶洞"}, "geometry": {"type": "Point", "coordinates": [110.60, 24.90]}},
]}


def park(vehicle: str, where, start: str, end: str, every_s: int = 30) -> list[tuple]:
    times = pd.date_range(start, end, freq=f"{every_s}s")
    return [(vehicle, t, *where) for t in times]


def drive(vehicle: str, a, b, start: str, kmh: float, skip: tuple[str, str] | None = None) -> list[tuple]:
    """30-s fixes on the straight line a → b (excluding a, including b) at ``kmh``."""
    dist = float(np.hypot((b[0] - a[0]) * 111_195, (b[1] - a[1]) * 111_195 * np.cos(np.radians(a[0]))))
    n = max(1, int(np.ceil(dist / (kmh / 3.6 * 30))))
    rows = []
    for k in range(1, n + 1):
        t = pd.Timestamp(start) + pd.Timedelta(seconds=30 * k)
        if skip and pd.Timestamp(skip[0]) < t < pd.Timestamp(skip[1]):
            continue
        f = k / n
        rows.append((vehicle, t, a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1])))
    return rows


def night_rows() -> list[tuple]:
    v1, v2 = "桂C10001", "桂C10002"
    rows = park(v1, P1, "2021-03-10 22:00", "2021-03-10 22:30")
    rows += drive(v1, P1, X, "2021-03-10 22:30", 40)
    rows += park(v1, X, "2021-03-10 22:50", "2021-03-10 23:10")
    rows += drive(v1, X, R1, "2021-03-10 23:10", 20, skip=("2021-03-10 23:15", "2021-03-10 23:45"))
    last = rows[-1][1]
    rows += park(v1, R1, str(last + pd.Timedelta(seconds=30)), "2021-03-11 01:40")
    rows += park(v2, P2, "2021-03-20 10:00", "2021-03-20 10:30")
    rows += drive(v2, P2, X, "2021-03-20 10:30", 40)
    rows += park(v2, X, "2021-03-20 10:45", "2021-03-20 11:00")
    rows += drive(v2, X, T1, "2021-03-20 11:00", 50)
    rows += park(v2, T1, str(rows[-1][1] + pd.Timedelta(seconds=30)), "2021-03-20 12:00", every_s=180)
    return rows


def csv(rows: list[tuple]) -> str:
    return "vehicle_id,ts,lat,lon\n" + "".join(f"{v},{t:%Y-%m-%dT%H:%M:%S},{la:.7f},{lo:.7f}\n" for v, t, la, lo in rows)


def write(folder, rows: list[tuple], manifests: str = MANIFESTS):
    tables = {"enterprises": ENTERPRISES, "vehicles": VEHICLES, "licences": LICENCES, "manifests": manifests,
              "trajectories": csv(rows), "ledgers": None, "electricity": None, "tips": None, "cases": None}
    write_minimal(folder, tables=tables)
    for name, head in (("ledgers", "enterprise_id,month,waste_code,generated_t,transferred_t,onsite_t,stock_end_t\n"),
                       ("electricity", "enterprise_id,date,kwh,night_kwh\n")):
        (folder / f"{name}.csv").write_text(head, encoding="utf-8")
    (folder / "places.geojson").write_text(json.dumps(PLACES, ensure_ascii=False), encoding="utf-8")
    return load_snapshot(folder)


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    snap = write(tmp_path_factory.mktemp("night"), night_rows())
    return snap, trajectory_evidence(snap, AS_OF)


def test_stops_are_classified_as_on_paper(night):
    _, ev = night
    s = ev.stops.set_index(["vehicle_id", "start"])
    loading = s.loc[("桂C10001", pd.Timestamp("2021-03-10 22:00"))]
    assert loading["at_enterprise_id"] == "P1" and loading["registered"] and not loading["loaded"]
    assert not loading["offbook"]  # M1 departed from P1 right after
    # 12.1 km at 40 km/h in 30-s steps of 333 m: 37 fixes, the last on the spot at 22:48:30
    river = s.loc[("桂C10001", pd.Timestamp("2021-03-10 22:48:30"))]
    assert not river["registered"] and river["night"] and river["loaded"] and river["manifest_id"] == "M1"
    assert river["end"] == pd.Timestamp("2021-03-10 23:10") and river["duration_min"] == pytest.approx(21.5)
    assert river["water_m"] == pytest.approx(48.3, abs=1.5) and river["water_name"] == "漓江"
    visit = s.loc[("桂C10002", pd.Timestamp("2021-03-20 10:00"))]
    assert visit["at_producer"] and visit["offbook"] and visit["unpermitted_visit"]
    day = s.loc[("桂C10002", pd.Timestamp("2021-03-20 10:41:30"))]
    assert not day["registered"] and not day["night"] and not day["loaded"]


def test_trip_evidence_of_m1(night):
    """M1: departed 22:30, confirmed 01:30 → 3 h; the terminal's longest silence is the 30 min
    from 23:15 to 23:45 (the only one over 10 min); the truck reached R1 (0 m)."""
    _, ev = night
    t = ev.trips.set_index("manifest_id").loc["M1"]
    assert t["duration_h"] == pytest.approx(3.0)
    assert t["gps_gap_max_h"] == pytest.approx(0.5) and t["gps_gaps_over_10min"] == 1
    assert t["gps_gap_at"] == pd.Timestamp("2021-03-10 23:15")
    assert t["receiver_min_m"] == pytest.approx(0.0, abs=1.0) and not t["receipt_without_visit"]
    assert t["offsite_stops"] == 1 and t["night_offsite_stops"] == 1 and t["offsite_stop_min"] == pytest.approx(21.5)
    # P1 → R1: 0.14° north (15.6 km) and 0.10° east (10.1 km): 18.5 km; via the river spot 12.1 + 15.7 km
    assert t["direct_km"] == pytest.approx(18.5, abs=0.1) and t["path_km"] == pytest.approx(27.8, abs=0.2)
    assert t["detour_ratio"] == pytest.approx(t["path_km"] / t["direct_km"])
    assert np.isnan(t["route_duration_median_h"])  # no earlier trips on the route


def test_enterprise_features_as_on_paper(night):
    _, ev = night
    e = ev.enterprise
    for who in ("P1", "T1", "R1"):  # the loaded night stop by the river counts for M1's three parties
        assert e.loc[who, "night_stops_near_water_30d"] == 1
        assert e.loc[who, "offsite_stops_loaded_30d"] == 1
        assert e.loc[who, "manifest_gps_gap_max_h_90d"] == pytest.approx(0.5)
        assert e.loc[who, "manifest_gps_gaps_over_10min_365d"] == 1
    assert e.loc["P1", "night_stops_near_water_30d@vehicle_id"] == "桂C10001"
    assert e.loc["P1", "night_stops_near_water_30d@manifest_id"] == "M1"
    assert e.loc["P1", "night_stops_near_water_30d@place"] == "漓江"
    assert e.loc["P1", "night_stops_near_water_30d@when"] == pd.Timestamp("2021-03-10 22:48:30")
    river = ev.stops.set_index(["vehicle_id", "start"]).loc[("桂C10001", pd.Timestamp("2021-03-10 22:48:30"))]
    assert e.loc["P1", "night_stops_near_water_30d@where"] == f"{river['lat']:.5f},{river['lon']:.5f}"
    assert e.loc["P1", "night_stops_near_water_30d@minutes"] == 22  # 21.5 rounded half to even
    assert e.loc["P2", "night_stops_near_water_30d"] == 0
    assert pd.isna(e.loc["P2", "night_stops_near_water_30d@where"])  # nothing seen, no evidence
    # the off-book visit by the vehicle without a permit counts for P2 and the owner T1
    for who in ("P2", "T1"):
        assert e.loc[who, "offbook_pickups_30d"] == 1
        assert e.loc[who, "unpermitted_vehicle_visits_90d"] == 1
    assert e.loc["P1", "offbook_pickups_30d"] == 0
    assert e.loc["R1", "receipts_without_gps_visit_365d"] == 0
    # the window: on 2021-04-15 the 30-day window (03-17 .. 04-15) has lost M1's night
    ev2 = trajectory_evidence(night[0], "2021-04-15")
    assert ev2.enterprise.loc["P1", "night_stops_near_water_30d"] == 0
    assert ev2.enterprise.loc["P1", "night_stops_near_water_90d"] == 1
    assert ev2.enterprise.loc["P2", "offbook_pickups_30d"] == 1


def test_vehicle_features(night):
    _, ev = night
    v = ev.vehicle
    assert v.loc["桂C10001", "vehicle_night_stops_near_water_30d"] == 1
    assert v.loc["桂C10002", "vehicle_offbook_pickups_30d"] == 1
    assert v.loc["桂C10001", "vehicle_offsite_stops_365d"] == 1
    assert v.loc["桂C10002", "vehicle_night_offsite_stop_share_365d"] == 0.0
    assert v.loc["桂C10001", "vehicle_manifest_gps_gap_max_h_365d"] == pytest.approx(0.5)


def test_every_feature_column_is_declared(night):
    _, ev = night
    for frame, entity in ((ev.enterprise, "enterprise"), (ev.vehicle, "vehicle"), (ev.sites, "site")):
        names = [c for c in frame.columns if "@" not in c and c not in
                 ("lat", "lon", "score", "reasons", "vehicle_ids", "enterprise_ids", "first_seen", "last_seen")]
        assert names
        for c in names:
            assert c in CATALOGUE and CATALOGUE[c].entity == entity, c
        for c in frame.columns:
            if "@" in c:
                assert c.split("@")[0] in CATALOGUE
    spec = CATALOGUE["night_stops_near_water_90d"]
    row = ev.enterprise.loc["P1"]
    text = spec.render(row["night_stops_near_water_90d"], {k.split("@")[1]: row[k] for k in ev.enterprise.columns
                                                             if k.startswith("night_stops_near_water_90d@")})
    assert "漓江" in text and "桂C10001" in text and "M1" in text


def test_the_river_spot_is_one_candidate_site(night):
    """Both trucks stopped at the river spot: one site, 2 visits by 2 vehicles of one carrier;
    night 1/2, loaded 1/2 (M1), 1/2 within 12 h of an off-book producer visit (桂C10002 at P2;
    P1's visit had M1), M1 arrived 2 t short (1/2). Linked producers: P2, and M1's P1.
    Score: z = -4 + 2·0.5 + 1.5·0.5 + 2·e^(-48/250) + (1 - e^(-1/4)) + 1.5·0.5 ≈ 0.37 → 0.59."""
    _, ev = night
    sites = ev.sites
    assert len(sites) == 1
    site = sites.iloc[0]
    assert site["site_visits_365d"] == 2 and site["site_vehicles_365d"] == 2 and site["site_transporters_365d"] == 1
    assert site["site_night_share_365d"] == 0.5 and site["site_loaded_share_365d"] == 0.5
    assert site["site_linked_share_365d"] == 0.5 and site["site_linked_producers_365d"] == 2
    assert site["site_shortfall_share_365d"] == 0.5
    assert site["vehicle_ids"] == "桂C10001;桂C10002" and site["enterprise_ids"] == "P1;P2;T1"
    assert site["site_water_distance_m"] == pytest.approx(48.3, abs=1.5)
    z = -4 + 1 + 0.75 + 2 * np.exp(-site["site_water_distance_m"] / 250) + (1 - np.exp(-0.25)) + 0.75
    assert site["score"] == pytest.approx(1 / (1 + np.exp(-z)))
    assert 0.55 < site["score"] < 0.65
    assert (site["lat"], site["lon"]) == pytest.approx(X, abs=1e-6)
    assert sites.index[0].startswith("S") and len(sites.index[0]) == 8
    reasons = json.loads(site["reasons"])
    assert any("漓江" in r for r in reasons)
    assert trajectory_evidence(night[0], AS_OF).sites.index.tolist() == sites.index.tolist()  # stable ids


def after_as_of_rows() -> list[tuple]:
    """Fixes after as_of — and one that changes what the last fix before the cutoff is: 桂C10001
    parks at X from 23:50 on 03-31 until 00:30 on 04-01; its fix at 23:59:45 is a 5 km spike,
    which the full table drops (impossible from both neighbours) but a table cut at midnight
    keeps (its last fix); a new trip on 04-02."""
    v1 = "桂C10001"
    rows = park(v1, X, "2021-03-31 23:50", "2021-03-31 23:59:30")
    spike = (v1, pd.Timestamp("2021-03-31 23:59:45"), X[0] + 0.045, X[1])
    later = park(v1, X, "2021-04-01 00:00:15", "2021-04-01 00:30:15")
    later += park(v1, P1, "2021-04-02 09:00", "2021-04-02 09:30")
    later += drive(v1, P1, X, "2021-04-02 09:30", 40)
    later += park("桂C10002", X, "2021-04-02 23:00", "2021-04-02 23:40")
    return rows, [spike], later


def test_rows_after_as_of_change_no_feature_value(tmp_path):
    """World A: everything known at 2021-03-31 (M2 departed that evening, not yet confirmed).
    World B: the same plus fixes after the cutoff, a new manifest M3, and M2's receipt on 04-01.
    Every frame of the evidence at as_of is identical."""
    before, spike, later = after_as_of_rows()
    m2 = "M2,P1,T1,R1,桂C10001,900-249-08,5,2021-03-31T20:00:00,{rt},{ra}\n"
    a = write(tmp_path / "a", night_rows() + before + spike, MANIFESTS + m2.format(rt="", ra=""))
    b = write(tmp_path / "b", night_rows() + before + spike + later,
              MANIFESTS + m2.format(rt="4.0", ra="2021-04-01T01:00:00")
              + "M3,P2,T1,R1,桂C10002,900-249-08,3,2021-04-02T09:30:00,3,2021-04-02T12:00:00\n")
    ia, ib = build_stop_index(a), build_stop_index(b)
    assert ia.report.jumps == 0 and ib.report.jumps == 1  # the spike is a jump only with its later neighbour
    ea, eb = trajectory_evidence(a, AS_OF, ia), trajectory_evidence(b, AS_OF, ib)
    pd.testing.assert_frame_equal(ea.stops, eb.stops)
    pd.testing.assert_frame_equal(ea.trips, eb.trips)
    pd.testing.assert_frame_equal(ea.enterprise, eb.enterprise)
    pd.testing.assert_frame_equal(ea.vehicle, eb.vehicle)
    pd.testing.assert_frame_equal(ea.sites, eb.sites)
    straddling = ea.stops[(ea.stops.vehicle_id == "桂C10001") & (ea.stops.start == pd.Timestamp("2021-03-31 23:50"))]
    assert straddling["end"].tolist() == [pd.Timestamp("2021-03-31 23:59:30")]  # cut by the spike, as in world A
    m2row = ea.trips.set_index("manifest_id").loc["M2"]
    assert pd.isna(m2row["received_known"]) and np.isnan(m2row["duration_h"])


def test_evidence_without_an_index_equals_evidence_with_one(night):
    snap, ev = night
    again = trajectory_evidence(snap, AS_OF, StopIndex.build(snap.trajectories))
    pd.testing.assert_frame_equal(ev.enterprise, again.enterprise)


def test_a_parked_truck_waking_hourly_is_one_silent_stay():
    """桂C10001 parks at X at 20:00 (fixes for 6 min), then its terminal reports once an hour
    (21:06 … 01:06) and at 02:00, then leaves. detect_stops (gaps over 30 min split runs) sees one
    6-minute stop; the six silences are silent stays at the same spot; merged, one stay 20:00–02:00."""
    rows = park("桂C10001", X, "2021-03-05 20:00", "2021-03-05 20:06")
    rows += [("桂C10001", pd.Timestamp("2021-03-05 20:06") + pd.Timedelta(hours=h), *X) for h in range(1, 6)]
    rows += [("桂C10001", pd.Timestamp("2021-03-06 02:00"), *X)]
    rows += drive("桂C10001", X, R1, "2021-03-06 02:00", 40)
    f = pd.DataFrame(rows, columns=["vehicle_id", "ts", "lat", "lon"])
    index = StopIndex.build(f)
    assert len(index.stops) == 1 and index.dark.size == 6  # 20:06 → 21:06 … 01:06 → 02:00
    from features.stops_asof import dark_stays, stops_as_of
    parts = pd.concat([stops_as_of(index, "2021-03-06").assign(dark=False),
                       dark_stays(index, pd.Timestamp("2021-03-07")).assign(dark=True)], ignore_index=True)
    stays = merge_stays(parts, 100.0)
    assert len(stays) == 1
    stay = stays.iloc[0]
    assert (stay["start"], stay["end"]) == (pd.Timestamp("2021-03-05 20:00"), pd.Timestamp("2021-03-06 02:00"))
    assert stay["n_parts"] == 7 and stay["dark"] and (stay["lat"], stay["lon"]) == pytest.approx(X)


@pytest.mark.slow
def test_smoke_on_a_simulated_city(tmp_path):
    """End to end on the simulator's small city (4 months): the evidence builds, its frames are
    consistent, and the simulated dump sites visited by vehicles show up among the candidates."""
    simulation = pytest.importorskip("simulation")
    if not hasattr(simulation, "simulate"):
        pytest.skip("the simulator is not here yet")
    folder = simulation.simulate(tmp_path / "sim", seed=1, scale="small", months=4)
    snap = load_snapshot(folder)
    index = build_stop_index(snap)
    ev = trajectory_evidence(snap, snap.last_day, index)
    assert len(ev.stops) > 100 and ev.stops["registered"].any() and (~ev.stops["registered"]).any()
    assert set(ev.enterprise.index) == set(snap.enterprises["enterprise_id"])
    assert set(ev.vehicle.index) == set(snap.vehicles["vehicle_id"])
    assert ev.trips["manifest_id"].is_unique and len(ev.trips) == (snap.manifests["departed_at"] < snap.last_day + pd.Timedelta(days=1)).sum()
    assert ev.sites["score"].between(0, 1).all() and ev.sites.index.is_unique
    truth = folder / "truth" / "sites.csv"
    if truth.exists():
        from features.geo import haversine_m
        sites = pd.read_csv(truth)
        dumps = sites[sites["kind"] == "dump"]
        found = [haversine_m(r.lat, r.lon, ev.sites["lat"], ev.sites["lon"]).min() < 300 for r in dumps.itertuples()]
        assert np.mean(found) >= 0.5


def test_stop_index_built_on_a_dask_cluster_equals_the_local_one(night):
    """Partitioned by vehicle on (threaded) Dask workers and merged: the same stops and evidence."""
    distributed = pytest.importorskip("distributed")
    snap, ev = night
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None) as client:
        index = build_stop_index(snap, client=client, partitions=2)
    local = build_stop_index(snap)
    pd.testing.assert_frame_equal(index.stops, local.stops)
    pd.testing.assert_frame_equal(trajectory_evidence(snap, AS_OF, index).enterprise, ev.enterprise)


def test_tiny_and_empty_trajectories(tmp_path):
    """The minimal snapshot: M1 (departed 09:00, confirmed 11:30) has 3 fixes up to 09:01, so its
    longest silence is the last 2 h 29 min; M2 (never confirmed) has no fix in its 48 hours.
    Without any fix, GPS evidence is unknown (NaN), not suspicious."""
    snap = load_snapshot(write_minimal(tmp_path / "m"))
    t = trajectory_evidence(snap, snap.last_day).trips.set_index("manifest_id")
    assert t.loc["M1", "gps_gap_max_h"] == pytest.approx(2.5 - 1 / 60)
    assert t.loc["M2", "gps_gap_max_h"] == pytest.approx(48.0) and t.loc["M2", "n_fixes"] == 0
    empty = load_snapshot(write_minimal(tmp_path / "e", tables={"trajectories": "vehicle_id,ts,lat,lon\n"}))
    ev = trajectory_evidence(empty, "2021-03-01")
    assert ev.stops.empty and ev.sites.empty and not ev.trips["has_gps"].any()
    assert ev.trips["gps_gap_max_h"].isna().all()
    assert (ev.enterprise["manifests_without_gps_365d"].sum(), len(ev.vehicle)) == (3 * 3, 2)  # 3 manifests × 3 parties


def test_a_count_names_its_most_suspicious_stop_and_of_equals_the_latest():
    from features.trajectory_features import STOP_FIELDS, _Columns, _put_count, _Rows

    ev = pd.DataFrame({
        "when": pd.to_datetime(["2021-03-01 01:00", "2021-03-02 02:00", "2021-03-05 03:00", "2021-03-03 04:00"]),
        "lat": [25.1, 25.2, 25.3, 25.4], "lon": [110.1, 110.2, 110.3, 110.4],
        "vehicle_id": ["V0", "V1", "V2", "V3"], "manifest_id": [None, "M1", "M2", None],
        "place": ["漓江", None, "桃花江", None], "dist_m": [10.0, np.nan, 30.0, np.nan],
        "minutes": [5.0, 6.0, 7.0, 8.0], "suspicion": [1.0, 2.5, 2.5, 0.5],
    })
    # rows: (stop, entity); D is no entity of the table, code -1 a missing id: neither is counted
    rows = _Rows(np.array([0, 1, 2, 3, 3, 0]), np.array([0, 0, 0, 2, 1, -1]), np.array(["A", "D", "B"], dtype=object))
    out = _Columns(pd.Index(["A", "B", "C"], name="entity_id"))
    _put_count(out, "x", rows, ev, STOP_FIELDS)
    f = out.frame()
    assert f["x"].tolist() == [3.0, 1.0, 0.0] and list(f.index) == ["A", "B", "C"]
    # A: stops 1 and 2 are the most suspicious (2.5); of the two the later, stop 2
    assert f.loc["A", "x@vehicle_id"] == "V2" and f.loc["A", "x@manifest_id"] == "M2"
    assert f.loc["A", "x@where"] == "25.30000,110.30000" and f.loc["A", "x@place"] == "桃花江"
    assert f.loc["A", "x@when"] == pd.Timestamp("2021-03-05 03:00") and f.loc["A", "x@minutes"] == 7.0
    assert f.loc["B", "x@vehicle_id"] == "V3" and f.loc["B", "x@where"] == "25.40000,110.40000"
    assert f.loc["C"].drop("x").isna().all()  # nothing counted: no evidence


def test_stops_are_attributed_once_to_each_party_as_the_frame_code_did():
    from features.trajectory_features import _attributed

    def reference(s, how):  # the code before: a frame per column, concatenated, missing and repeats dropped
        if how == "load":
            cols = [s["m_producer_id"].where(s["loaded"]), s["m_transporter_id"].where(s["loaded"]),
                    s["m_receiver_id"].where(s["loaded"]), s["owner_id"].where(~s["loaded"])]
        else:
            cols = [s["at_enterprise_id"], s["owner_id"]]
        parts = [pd.DataFrame({"stop": s.index, "entity_id": c.to_numpy(object)}) for c in cols]
        a = pd.concat(parts, ignore_index=True).dropna().drop_duplicates()
        a["entity_id"] = a["entity_id"].astype("str")
        return a

    # loaded stops name the manifest's parties (one firm may be two of them), unloaded ones the owner
    s = pd.DataFrame({
        "loaded": [True, True, False, False, True],
        "m_producer_id": ["P1", "T1", None, None, None],
        "m_transporter_id": ["T1", "T1", None, None, "T2"],
        "m_receiver_id": ["R1", "R1", None, None, None],
        "owner_id": ["T1", "T1", "T2", None, "T2"],
        "at_enterprise_id": [None, "P2", "P2", "T2", None],
    }, dtype=object).astype({"loaded": bool})
    def frame(rows):
        return pd.DataFrame({"stop": rows.stop, "entity_id": pd.array(rows.ids[rows.code], dtype="str")})

    for how in ("load", "visit"):
        got, want = frame(_attributed(s, how)), reference(s, how).reset_index(drop=True)
        pd.testing.assert_frame_equal(got, want)
    got = frame(_attributed(s, "load"))
    assert got.groupby("stop")["entity_id"].agg(list).to_dict() == {
        0: ["P1", "T1", "R1"], 1: ["T1", "R1"], 2: ["T2"], 4: ["T2"]}  # stop 3: no owner, no manifest


def test_site_and_vehicle_tables_are_made_once_when_first_read(night, monkeypatch):
    """Training builds dozens of dates and reads only the enterprise and tip tables: the candidate
    sites and the vehicles' trajectory features are made when a reader asks, once, and the driving
    rules' vehicle table still leads with the trajectory features. (The snapshot has no ledger or
    power row: ``build`` must work on it too.)"""
    import features.trajectory_features as tf
    from features.build import build

    want_sites, want_vehicle = night[1].sites, night[1].vehicle  # made before counting
    made = []
    real_sites, real_vehicle = tf.candidate_sites, tf.vehicle_features
    monkeypatch.setattr(tf, "candidate_sites", lambda *a, **k: made.append("sites") or real_sites(*a, **k))
    monkeypatch.setattr(tf, "vehicle_features", lambda *a, **k: made.append("vehicle") or real_vehicle(*a, **k))
    fs = build(night[0], AS_OF)
    assert len(fs.enterprise) and len(fs.stops) and made == []
    site, vehicle = fs.site, fs.vehicle
    assert made == ["sites", "vehicle"]
    assert fs.site is site and fs.vehicle is vehicle and made == ["sites", "vehicle"]  # kept, not made again
    evidence = [c for c in site if "@" in c]
    pd.testing.assert_frame_equal(site.drop(columns=evidence), want_sites.drop(columns=evidence))
    pd.testing.assert_frame_equal(vehicle, want_vehicle)
    assert len(site) and vehicle["vehicle_offsite_stops_365d"].gt(0).any()
    drv = fs.driving.vehicle
    assert list(drv.columns[:len(vehicle.columns)]) == list(vehicle.columns) and made == ["sites", "vehicle"]
    # a served feature set settles: every table made, what they were made from let go
    again = build(night[0], AS_OF).settle()
    assert again.trajectory is None and again.driving.trajectory is None
    pd.testing.assert_frame_equal(again.site, site)
    pd.testing.assert_frame_equal(again.vehicle, vehicle)
    pd.testing.assert_frame_equal(again.driving.vehicle, drv)
    assert len(again.driving.carrier) == len(fs.driving.carrier)


def _wandering(seed: int, vehicles: int = 4, days: int = 8) -> pd.DataFrame:
    """Trucks that park (some with their terminal silent for a while: silent stays), wake hourly,
    and drive on, day after day: stays that chain across any day boundary."""
    rng = np.random.default_rng(seed)
    rows = []
    for v in range(vehicles):
        vid = f"桂C2000{v}"
        here = (25.2 + rng.random() * 0.1, 110.3 + rng.random() * 0.1)
        t = pd.Timestamp("2021-03-01 06:00") + pd.Timedelta(minutes=int(rng.integers(0, 600)))
        while t < pd.Timestamp("2021-03-01") + pd.Timedelta(days=days):
            end = t + pd.Timedelta(minutes=int(rng.integers(6, 180)))
            rows += park(vid, here, str(t), str(end), every_s=60)
            for _ in range(int(rng.integers(0, 4))):  # silent, then a fix at the same spot
                end += pd.Timedelta(minutes=int(rng.integers(35, 120)))
                rows.append((vid, end, *here))
            there = (here[0] + rng.normal(0, 0.03), here[1] + rng.normal(0, 0.03))
            rows += drive(vid, here, there, str(end), 40)
            t, here = pd.Timestamp(rows[-1][1]) + pd.Timedelta(seconds=30), there
    return pd.DataFrame(rows, columns=["vehicle_id", "ts", "lat", "lon"])


@pytest.mark.parametrize("seed", [0, 1])
def test_stays_read_from_a_window_start_are_those_merged_from_all(seed):
    """``stops_as_of``/``dark_stays`` with ``since`` hand over only the stops from ``since`` on and
    each vehicle's last one before: the stays ``merge_stays(since=...)`` makes of them are those
    it makes of all the stops (a chain begun before ``since`` is still recognised and dropped)."""
    from features.stops_asof import dark_stays, stops_as_of
    from features.timeutil import cutoff

    index = StopIndex.build(_wandering(seed))
    fewer = 0
    for as_of in ("2021-03-05", "2021-03-09"):
        full = pd.concat([stops_as_of(index, as_of).assign(dark=False),
                          dark_stays(index, cutoff(as_of)).assign(dark=True)], ignore_index=True)
        assert full["dark"].sum() > 10 and (~full["dark"]).sum() > 10
        for hours in range(0, 24 * 9, 7):
            since = pd.Timestamp("2021-03-01") + pd.Timedelta(hours=hours)
            cut = pd.concat([stops_as_of(index, as_of, since).assign(dark=False),
                             dark_stays(index, cutoff(as_of), since).assign(dark=True)], ignore_index=True)
            fewer += len(cut) < len(full)
            want = merge_stays(full, 100.0, since=since)
            pd.testing.assert_frame_equal(merge_stays(cut, 100.0, since=since), want)
    assert fewer > 20  # the windows did leave most of the early stops out


def test_since_rows_keeps_each_vehicles_last_earlier_row():
    from features.stops_asof import since_rows

    vehicle = np.array([0, 1, 0, 0, 1, 2, 0])
    start = np.array(["2021-03-01", "2021-03-02", "2021-03-03", "2021-03-03", "2021-03-05", "2021-03-09",
                      "2021-03-06"], dtype="datetime64[ns]")
    keep = since_rows(vehicle, start, pd.Timestamp("2021-03-05"))
    # vehicle 0: rows 2 and 3 tie as the latest before: the later row (3); vehicle 1: row 1; vehicle 2: none before
    assert keep.tolist() == [False, True, False, True, True, True, True]
    assert since_rows(vehicle, start, pd.Timestamp("2021-03-01")) is None  # every row from since on
    assert since_rows(vehicle, start, None) is None
