"""The simulated driving (simulation.driving): roads and restricted zones in places.geojson, drivers
on fixes, honest drivers under the limits, and violators whose truth the detector finds."""

from __future__ import annotations

import pandas as pd

from features.driving import driving_events
from features.geo import LocalProjection

VIOLATION_COLUMNS = ["vehicle_id", "kind", "start", "end", "driver_id", "detail"]


def _truth(folder) -> pd.DataFrame:
    return pd.read_csv(folder / "truth" / "vehicle_violations.csv", parse_dates=["start", "end"])


def test_places_have_roads_with_limits_and_restricted_zones_off_the_roads(small_world):
    folder, snap, _ = small_world
    roads = [p for p in snap.places if p.kind == "road"]
    zones = [p for p in snap.places if p.kind == "restricted"]
    assert {p.speed_limit_kmh for p in roads} == {60.0, 80.0}
    assert any("高速公路" in p.name and p.speed_limit_kmh == 80.0 for p in roads)
    assert zones and all(p.geometry.geom_type == "Polygon" for p in zones)
    assert any(p.hours is None for p in zones) or any(p.hours for p in zones)
    proj = LocalProjection(25.0, 110.3)
    lines = [proj.geometry(p.geometry) for p in roads]
    for z in zones:  # no mapped road passes through a zone: only a deliberate shortcut enters it
        assert min(proj.geometry(z.geometry).distance(g) for g in lines) > 200.0


def test_fixes_carry_drivers_where_terminals_record_them(small_world):
    _, snap, _ = small_world
    tr = snap.trajectories
    per_vehicle = tr.groupby("vehicle_id", observed=True)["driver_id"].agg(lambda s: s.notna().mean())
    assert (per_vehicle == 0).any() and (per_vehicle > 0.2).sum() >= len(per_vehicle) // 2
    moving = tr[tr["speed_kmh"] > 5]
    assert moving["driver_id"].notna().mean() > 0.5  # on trips; parked heartbeats carry none
    assert tr.loc[tr["speed_kmh"] == 0, "driver_id"].notna().mean() < moving["driver_id"].notna().mean()


def test_truth_lists_each_behaviour_and_honest_vehicles_keep_to_the_limits(small_world):
    folder, snap, _ = small_world
    truth = _truth(folder)
    assert list(truth.columns) == VIOLATION_COLUMNS
    assert {"speeding", "fatigue", "restricted", "silent"} <= set(truth["kind"])
    assert (truth["end"] >= truth["start"]).all() and truth["vehicle_id"].isin(snap.vehicles["vehicle_id"]).all()
    last = snap.last_day
    ev = driving_events(snap, last).events
    window = truth[truth["start"] >= last + pd.Timedelta(days=1) - pd.Timedelta(days=90)]
    speeders = set(truth.loc[truth["kind"] == "speeding", "vehicle_id"])
    honest = snap.vehicles.loc[~snap.vehicles["vehicle_id"].isin(truth["vehicle_id"]), "vehicle_id"]
    assert len(honest) >= 3
    sp = ev[ev["category"] == "speeding"]
    by_vehicle = sp.groupby("vehicle_id")["value"].size()
    honest_events = by_vehicle.reindex(honest).fillna(0)
    assert honest_events.mean() < 0.2 * by_vehicle.reindex(sorted(speeders & set(window["vehicle_id"]))).fillna(0).mean()
    excess = (sp["value"] / sp["limit"]).groupby(sp["vehicle_id"]).median()
    assert (excess.reindex(honest).dropna() < 1.15).all()  # honest near-misses are small
    for kind in ("restricted", "speeding"):  # the detector finds every vehicle the truth names for the window
        named = set(window.loc[window["kind"] == kind, "vehicle_id"])
        found = set(ev.loc[ev["category"] == kind, "vehicle_id"])
        assert named and named <= found, kind
    assert not set(ev.loc[ev["category"] == "restricted", "vehicle_id"]) - set(truth.loc[truth["kind"] == "restricted", "vehicle_id"])


def test_the_tired_driver_works_more_than_any_honest_driver(small_world):
    folder, snap, _ = small_world
    truth = _truth(folder)
    tired = set(truth.loc[truth["kind"] == "fatigue", "driver_id"].dropna())
    tr = snap.trajectories[snap.trajectories["speed_kmh"] > 5]
    hours = tr.groupby([tr["driver_id"].astype(object), tr["ts"].dt.floor("D")]).size() * 30 / 3600  # about 30 s a fix
    worst = hours.groupby(level=0).max()
    assert tired and set(worst.index) >= tired
    assert worst[list(tired)].min() > 8.5 > worst.drop(list(tired)).max()  # honest rosters hand over at 7 h
