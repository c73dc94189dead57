"""The detail pages' lookups (``serving.lookup``) select the very rows, in the very order, that the
scans they replace selected: the masks below are the scans the pages ran before (kept here as the
reference), over random tables with the awkward cases in them (missing ids and places, ids of
mixed kinds, fixes out of order, points on a radius' edge)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import shapely

from features.geo import haversine_m
from serving import lookup

ENTS = ["E1", "E2", "E3", "E4", None]
VEHICLES = ["桂C1", "桂C2", "桂C3", "V4"]


class Features(SimpleNamespace):
    """A feature set's two tables (a class of its own: a lookup is kept by weak reference)."""


def _features(rng: np.random.Generator, n_stops: int = 800, n_manifests: int = 400):
    pick = lambda values, n: [values[i] for i in rng.integers(0, len(values), n)]  # noqa: E731
    stops = pd.DataFrame({
        "vehicle_id": pick(VEHICLES, n_stops), "start": pd.Timestamp("2021-03-01") + pd.to_timedelta(rng.integers(0, 40 * 86400, n_stops), "s"),
        "lat": np.where(rng.random(n_stops) < 0.03, np.nan, 25.0 + rng.random(n_stops) * 0.1),
        "lon": 110.0 + rng.random(n_stops) * 0.1,
        "registered": pick([True, False, None], n_stops), "m_producer_id": pick(ENTS, n_stops),
        "m_receiver_id": pick(ENTS, n_stops), "at_enterprise_id": pick(ENTS, n_stops),
        "offbook": pick([True, False, None], n_stops), "unpermitted_visit": pick([True, False], n_stops),
        "suspicion": rng.integers(0, 4, n_stops).astype(float)})
    manifests = pd.DataFrame({"producer_id": pick(ENTS, n_manifests), "receiver_id": pick(ENTS, n_manifests),
                              "transporter_id": pick(ENTS, n_manifests), "vehicle_id": pick([*VEHICLES, None], n_manifests)})
    return Features(stops=stops, manifest_checks=manifests)


def test_an_enterprises_manifests_and_stops_are_the_rows_the_masks_chose():
    fs = _features(np.random.default_rng(1))
    look = lookup.FeatureLookup(fs)
    m, s = fs.manifest_checks, fs.stops
    for e in [*ENTS[:-1], "E9"]:
        mask = (m["producer_id"] == e) | (m["receiver_id"] == e) | (m["transporter_id"] == e)
        assert look.manifests_of(e).tolist() == np.flatnonzero(mask).tolist()
        carrying = (s["m_producer_id"] == e) | (s["m_receiver_id"] == e)
        offsite = ~s["registered"].fillna(False).astype(bool)
        at_it = (s["at_enterprise_id"] == e) & (s["offbook"].fillna(False).astype(bool) | s["unpermitted_visit"])
        assert look.stops_of(e).tolist() == np.flatnonzero((carrying & offsite) | at_it).tolist()
    for v in [*VEHICLES, "None", "nobody"]:
        assert look.manifests_of_vehicle(v).tolist() == np.flatnonzero(m["vehicle_id"].astype(str) == v).tolist()
        assert look.stops_of_vehicle(v).tolist() == np.flatnonzero(s["vehicle_id"].astype(str) == v).tolist()


@pytest.mark.parametrize("radius_m", [50.0, 400.0, 2500.0])
def test_the_offsite_stops_near_a_point_are_those_haversine_puts_within_the_radius(radius_m):
    fs = _features(np.random.default_rng(2))
    look = lookup.FeatureLookup(fs)
    s = fs.stops
    off = np.flatnonzero(~s["registered"].fillna(False).astype(bool))
    rng = np.random.default_rng(3)
    points = [(float(s["lat"].iloc[i]), float(s["lon"].iloc[i])) for i in off[:20] if np.isfinite(s["lat"].iloc[i])]
    points += [(25.0 + rng.random() * 0.1, 110.0 + rng.random() * 0.1) for _ in range(20)]
    for lat, lon in points:
        d = haversine_m(lat, lon, s["lat"].to_numpy(float)[off], s["lon"].to_numpy(float)[off])
        rows, dist = look.offsite_near(lat, lon, radius_m)
        assert rows.tolist() == off[d <= radius_m].tolist()
        assert np.allclose(dist, d[d <= radius_m], rtol=0, atol=1e-6)
    # a stop just inside the radius due north (the band's edge) is found, one just outside is not
    lat0, lon0 = 25.05, 110.05
    edge = np.degrees(radius_m / 6_371_008.8)
    extra = pd.DataFrame({"vehicle_id": ["V4", "V4"], "lat": [lat0 + edge * 0.999999, lat0 + edge * 1.000001],
                          "lon": [lon0, lon0], "registered": [False, False]})
    look = lookup.FeatureLookup(SimpleNamespace(stops=extra, manifest_checks=fs.manifest_checks))
    assert look.offsite_near(lat0, lon0, radius_m)[0].tolist() == [0]


@pytest.mark.parametrize("shuffled", [False, True])
def test_a_vehicles_fixes_between_two_times_are_the_rows_the_mask_chose(shuffled):
    rng = np.random.default_rng(4)
    n = 3000
    fixes = pd.DataFrame({"vehicle_id": [VEHICLES[i] for i in rng.integers(0, 3, n)],
                          "ts": pd.Timestamp("2021-03-01") + pd.to_timedelta(rng.choice(10 * 86400, n, replace=False), "s"),
                          "lat": rng.random(n), "lon": rng.random(n)})
    if not shuffled:  # as the loader leaves them: by vehicle and time, vehicle_id categorical
        fixes = fixes.sort_values(["vehicle_id", "ts"]).reset_index(drop=True)
    fixes["vehicle_id"] = fixes["vehicle_id"].astype("category")
    snap = SimpleNamespace(trajectories=fixes, places=[], electricity=pd.DataFrame({"enterprise_id": ["E1", "E2", "E1"]}),
                           ledgers=pd.DataFrame({"enterprise_id": ["E2"]}))
    look = lookup.SnapshotLookup(snap)
    for v in [*VEHICLES, "nobody"]:
        for _ in range(5):
            a = pd.Timestamp("2021-03-01") + pd.Timedelta(seconds=int(rng.integers(0, 9 * 86400)))
            b = a + pd.Timedelta(hours=int(rng.integers(0, 48)))
            if rng.random() < 0.3:  # on a fix's very time: both ends are inclusive
                mine = fixes[fixes["vehicle_id"] == v]
                a, b = (mine["ts"].iloc[0], mine["ts"].iloc[-1]) if len(mine) else (a, b)
            want = fixes[(fixes["vehicle_id"] == v) & (fixes["ts"] >= a) & (fixes["ts"] <= b)]
            got = look.fixes_between(fixes, v, a.to_pydatetime(), b.to_pydatetime())
            pd.testing.assert_frame_equal(got, want)
    assert look.electricity_of["E1"].tolist() == [0, 2] and look.ledgers_of["E2"].tolist() == [0]


def test_the_places_meeting_an_area_are_those_that_intersect_it_in_their_order():
    rng = np.random.default_rng(5)
    places = [SimpleNamespace(geometry=shapely.box(x, y, x + w, y + w)) for x, y, w in rng.random((300, 3)) * [1, 1, 0.05]]
    places += [SimpleNamespace(geometry=shapely.LineString([(0, 0), (1, 1)])), SimpleNamespace(geometry=shapely.Point(0.5, 0.2))]
    look = lookup.SnapshotLookup(SimpleNamespace(trajectories=pd.DataFrame(), places=places,
                                                 electricity=pd.DataFrame({"enterprise_id": []}),
                                                 ledgers=pd.DataFrame({"enterprise_id": []})))
    for x, y in rng.random((20, 2)):
        area = shapely.box(x - 0.1, y - 0.1, x + 0.1, y + 0.1)
        assert look.places_meeting(area) == [p for p in places if shapely.intersects(p.geometry, area)]


def test_a_lookup_is_built_once_per_object_and_goes_with_it():
    fs = _features(np.random.default_rng(6), n_stops=50, n_manifests=20)
    first = lookup.for_features(fs)
    assert lookup.for_features(fs) is first
    other = _features(np.random.default_rng(7), n_stops=50, n_manifests=20)
    assert lookup.for_features(other) is not first
    key = ("features", id(fs))
    del fs
    import gc

    gc.collect()
    assert key not in lookup._built  # the feature set is freed, its lookup with it


def test_a_pages_places_named_at_once_are_those_named_one_by_one():
    from features.geo import LocalProjection
    from serving.placenames import PlaceNamer

    rng = np.random.default_rng(8)
    places = [SimpleNamespace(kind=kind, name=f"{kind}{i}", geometry=shapely.Point(110 + x * 0.2, 25 + y * 0.2).buffer(0.002))
              for i, (kind, (x, y)) in enumerate(zip(["village", "town", "river", "road"] * 10, rng.random((40, 2)), strict=True))]
    namer = PlaceNamer(places, LocalProjection.around(np.array([25.1]), np.array([110.1])))
    points = [(25 + y * 0.3, 110 + x * 0.3) for x, y in rng.random((60, 2))] + [(None, 110.0), (float("nan"), 110.0), (40.0, 60.0)]
    for lang in ("zh", "en"):
        assert namer.describe_many(points, lang) == [namer.describe(lat, lon, lang) for lat, lon in points]


@pytest.mark.parametrize("column", ["suspicion", "start", "missing"])
def test_the_top_rows_are_those_the_whole_rows_sorted_gave_ties_included(column):
    fs = _features(np.random.default_rng(9), n_stops=3000)  # suspicion: four values, so ties everywhere
    s = fs.stops.assign(start=fs.stops["start"].dt.floor("D"))
    s.loc[s.index[::50], "suspicion"] = np.nan
    rows = np.flatnonzero(s["vehicle_id"].to_numpy() != "V4")
    for limit in (10, 200, 5000):
        want = s.iloc[rows].sort_values(column, ascending=False).head(limit) if column in s else s.iloc[rows].head(limit)
        pd.testing.assert_frame_equal(s.iloc[lookup.top_rows(s, rows, column, limit)], want)
