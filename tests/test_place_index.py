"""features.geo.PlaceIndex: lines are searched segment by segment, with the answers of a search over
whole places (the distance to the bit; the place's name, ties where lines meet decided as before)."""

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, MultiLineString, Point, Polygon

from features.geo import LocalProjection, PlaceIndex
from features.places import Place

PROJ = LocalProjection(25.2, 110.3)


def _whole(places: list[Place], kind: str, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """The search before: one tree of whole places, the first nearest of each point."""
    items = [p for p in places if p.kind == kind]
    tree = shapely.STRtree([PROJ.geometry(p.geometry) for p in items])
    x, y = PROJ.xy(lat, lon)
    idx, dist = tree.query_nearest(shapely.points(x, y), return_distance=True, all_matches=False)
    out, names = np.full(lat.shape, np.inf), [""] * lat.size
    out[idx[0]] = dist
    for i, j in zip(idx[0], idx[1], strict=True):
        names[i] = items[j].name
    return out, names


def _network(seed: int) -> list[Place]:
    rng = np.random.default_rng(seed)
    lines = []
    junction = (110.30, 25.20)
    for k in range(12):  # wandering rivers, several of them starting at one junction
        n = int(rng.integers(2, 400))
        start = junction if k < 4 else (110.1 + rng.random() * 0.4, 25.0 + rng.random() * 0.4)
        steps = rng.normal(scale=0.002, size=(n - 1, 2))
        pts = np.vstack([start, start + np.cumsum(steps, axis=0)])
        lines.append(Place("river", f"河{k}", LineString(pts)))
    lines.append(Place("river", "双河", MultiLineString([[(110.2, 25.1), (110.25, 25.15)], [(110.35, 25.3), (110.4, 25.3)]])))
    lines.append(Place("river", "同道", LineString([(110.2, 25.1), (110.25, 25.15)])))  # lies on 双河's first part
    lines.append(Place("reservoir", "水库", Polygon([(110.28, 25.18), (110.29, 25.18), (110.29, 25.19)])))
    lines.append(Place("landfill", "填埋场", Point(110.31, 25.21)))
    return lines


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lines_answer_as_whole_places_do(seed):
    places = _network(seed)
    rng = np.random.default_rng(100 + seed)
    lat = np.concatenate([rng.uniform(24.9, 25.5, 5000), [25.20, 25.1, 25.125, 25.3]])
    lon = np.concatenate([rng.uniform(110.0, 110.6, 5000), [110.30, 110.2, 110.225, 110.4]])
    index = PlaceIndex(places, PROJ)
    assert index._segments == {}  # made at a kind's first search
    for kind in ("river", "reservoir", "landfill"):
        dist, names = index._query(kind, lat, lon)
        want_dist, want_names = _whole(places, kind, lat, lon)
        np.testing.assert_array_equal(dist, want_dist)
        assert names == want_names
    assert index._segments["river"] is not None  # searched by its segments
    assert index._segments["reservoir"] is None and index._segments["landfill"] is None  # kept whole
    # the junction and the shared stretch are ties between places: at distance 0, named as before
    dist, names = index._query("river", lat[-4:], lon[-4:])
    assert (dist[:3] < 1e-6).all()
    assert names == _whole(places, "river", lat[-4:], lon[-4:])[1]


def test_lines_of_several_parts_and_a_missing_point_answer_as_whole_places_do():
    places = [Place("road", "甲", MultiLineString([[(110.2, 25.1), (110.3, 25.1)], [(110.3, 25.2), (110.4, 25.3)]])),
              Place("road", "乙", LineString([(110.3, 25.1), (110.3, 25.2)])),  # joins both parts of 甲 at their ends
              Place("road", "丙", LineString([(110.25, 25.3), (110.25, 25.3001)]))]  # one short segment
    lat = np.array([25.1, 25.2, 25.15, 25.3, np.nan, 25.0])
    lon = np.array([110.3, 110.3, 110.31, 110.25, 110.3, 110.2])
    dist, names = PlaceIndex(places, PROJ)._query("road", lat, lon)
    want_dist, want_names = _whole(places, "road", lat, lon)
    np.testing.assert_array_equal(dist, want_dist)
    assert names == want_names


def test_the_memo_answers_as_a_fresh_search_does_across_calls_threads_and_pickling():
    import pickle
    from concurrent.futures import ThreadPoolExecutor

    from features.geo import _point_keys, _point_latlon

    places = _network(3)
    rng = np.random.default_rng(7)
    lat, lon = rng.uniform(24.9, 25.5, 3000), rng.uniform(110.0, 110.6, 3000)
    # a point is answered at its key's position (1e-6 degrees): the reference searches there too
    klat, klon = _point_latlon(_point_keys(lat, lon))
    want_dist, want_names = PlaceIndex(places, PROJ)._query("river", klat, klon)
    index = PlaceIndex(places, PROJ)
    # overlapping calls, repeated points, a point in the memo asked again with new ones
    for sl in (slice(0, 1000), slice(500, 2000), slice(0, 3000), np.r_[2999, 0, 0, 1500, 2999]):
        dist, names = index.nearest("river", lat[sl], lon[sl])
        np.testing.assert_array_equal(dist, want_dist[sl])
        assert names == list(np.asarray(want_names, dtype=object)[sl])
    assert index._memo["river"][0].is_unique and len(index._memo["river"][0]) == 3000
    # threads asking overlapping points at once: the same answers, every key kept once
    fresh = PlaceIndex(places, PROJ)
    chunks = [np.arange(k * 300, k * 300 + 900) % 3000 for k in range(10)]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda ix: fresh.nearest("river", lat[ix], lon[ix]), chunks))
    for ix, (dist, names) in zip(chunks, got, strict=True):
        np.testing.assert_array_equal(dist, want_dist[ix])
        assert names == list(np.asarray(want_names, dtype=object)[ix])
    assert fresh._memo["river"][0].is_unique
    # pickled (a Dask worker's copy): the memo travels, a new lock is made, the answers are the same
    copy = pickle.loads(pickle.dumps(fresh))
    np.testing.assert_array_equal(copy.nearest("river", lat, lon)[0], want_dist)
    copy.nearest("river", lat + 0.001, lon)  # new points grow the copy's memo under its own lock
    assert len(copy._memo["river"][0]) > len(fresh._memo["river"][0])


def test_kind_after_kind_on_the_same_new_points_and_then_other_points_answer_as_fresh_searches():
    from features.geo import _point_keys, _point_latlon

    places = _network(4)
    rng = np.random.default_rng(11)
    index = PlaceIndex(places, PROJ)
    for round_ in range(3):  # the same points for three kinds (their points made once), then new points
        lat, lon = rng.uniform(24.9, 25.5, 500), rng.uniform(110.0, 110.6, 500)
        lat[:50], lon[:50] = lat[50:100], lon[50:100]  # repeats among them
        klat, klon = _point_latlon(_point_keys(lat, lon))
        for kind in ("river", "reservoir", "landfill"):
            dist, names = index.nearest(kind, lat, lon)
            want_dist, want_names = _whole(places, kind, klat, klon)
            np.testing.assert_array_equal(dist, want_dist, err_msg=f"{kind} round {round_}")
            assert names == want_names
