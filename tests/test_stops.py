"""Cleaning and stop detection (DATA_CONTRACT.md §5): worked examples, agreement with MovingPandas
0.23's TrajectoryStopDetector on real and messy data, gaps, and the as-of derivation."""

from __future__ import annotations

import functools
import warnings
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.stops_asof import dark_stays, stops_as_of, stops_before
from features.stops_kernel import geodesic_m, window_diagonal
from features.trajectories import (
    StopIndex,
    StopParams,
    clean_fixes,
    detect_stops,
)

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
T0 = pd.Timestamp("2021-03-01 08:00:00")
SETTINGS = [(30, 60), (100, 120), (200, 300)]


def fixes(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["vehicle_id", "ts", "lat", "lon"])


def offset(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    return lat + north_m / 111_195.0, lon + east_m / (111_195.0 * np.cos(np.radians(lat)))


# ---------------------------------------------------------------------------------------------
# worked examples


def test_a_truck_parked_between_two_drives_is_one_stop_of_its_parked_fixes():
    """30-s fixes: 10 while driving 300 m apart, 10 parked at one spot (4.5 min), 10 driving on.
    While not stopped the window holds the fixes of the last < 120 s (4 fixes), so it is first a
    stop when it holds only parked fixes; it ends at the first driving fix: the stop is exactly
    the 10 parked fixes, from the first to the last, centred on the parking spot."""
    east = [300.0 * k if k < 10 else 3000.0 if k < 20 else 3000.0 + 300.0 * (k - 19) for k in range(30)]
    rows = [("桂C1", T0 + pd.Timedelta(seconds=30 * k), *offset(25.27, 110.29, 0.0, east[k])) for k in range(30)]
    got = detect_stops(fixes(rows), max_diameter_m=50, min_duration_s=120)
    assert len(got) == 1
    stop = got.iloc[0]
    assert stop["start"] == T0 + pd.Timedelta(seconds=30 * 10)
    assert stop["end"] == T0 + pd.Timedelta(seconds=30 * 19)
    assert stop["n_fixes"] == 10
    assert (stop["lat"], stop["lon"]) == pytest.approx(rows[10][2:], abs=1e-12)
    assert list(got.columns) == ["vehicle_id", "start", "end", "lat", "lon", "n_fixes"]
    assert got["vehicle_id"].iloc[0] == "桂C1"


def test_a_stop_shorter_than_min_duration_is_not_a_stop():
    rows = [("v", T0 + pd.Timedelta(seconds=30 * k), 25.27, 110.29 + (0.01 * k if k < 3 or k > 6 else 0.03))
            for k in range(10)]
    assert detect_stops(fixes(rows), 50, 150).empty  # parked 4 fixes = 90 s
    assert len(detect_stops(fixes(rows), 50, 90)) == 1


def test_a_three_day_gap_joins_stops_without_max_gap_and_splits_them_with_it():
    """Three fixes a minute apart, three days without data, three more at the same spot.
    MovingPandas sees one three-day stop; with max_gap_s the runs are separate: two 2-minute
    stops when min_duration ≤ 120 s, none when min_duration is 5 minutes."""
    lat, lon = 25.27, 110.29
    times = [T0 + pd.Timedelta(minutes=m) for m in (0, 1, 2)]
    times += [t + pd.Timedelta(days=3) for t in times]
    f = fixes([("v", t, lat, lon) for t in times])
    one = detect_stops(f, 100, 60)
    assert len(one) == 1 and one["end"].iloc[0] - one["start"].iloc[0] == pd.Timedelta(days=3, minutes=2)
    two = detect_stops(f, 100, 60, max_gap_s=1800)
    assert list(zip(two["start"], two["end"], strict=True)) == [(times[0], times[2]), (times[3], times[5])]
    assert two["n_fixes"].tolist() == [3, 3]
    assert detect_stops(f, 100, 300, max_gap_s=1800).empty
    mpd = pytest.importorskip("movingpandas")
    ref = _mpd_stops(f, 100, 60)
    assert len(ref) == 1 and (ref["start"].iloc[0], ref["end"].iloc[0]) == (times[0], times[5])
    assert mpd is not None


def test_unsorted_duplicated_and_incomplete_rows_give_the_same_stops():
    rng = np.random.default_rng(7)
    clean = _simulated_trucks(rng, n_vehicles=3, hours=12)
    messy = pd.concat([clean, clean.sample(frac=0.1, random_state=1)], ignore_index=True)
    messy = pd.concat([messy, pd.DataFrame({"vehicle_id": ["v0"], "ts": [T0], "lat": [np.nan], "lon": [110.0]})])
    messy = messy.sample(frac=1.0, random_state=2).reset_index(drop=True)
    for d, s in SETTINGS:
        pd.testing.assert_frame_equal(detect_stops(messy, d, s), detect_stops(clean, d, s))
        pd.testing.assert_frame_equal(detect_stops(messy, d, s, 600), detect_stops(clean, d, s, 600))


def test_clean_fixes_drops_duplicates_zero_positions_and_single_fix_jumps():
    """v: 5 fixes 30 s apart on a line (100 m steps); the third is 5 km off (600 km/h from both
    neighbours) → dropped; one (0, 0) fix and one repeat of a time are dropped too. The first fix
    of a vehicle has one neighbour and is kept even if it is the odd one."""
    lat, lon = 25.27, 110.29
    rows = [("v", T0 + pd.Timedelta(seconds=30 * k), *offset(lat, lon, 0, 100 * k)) for k in range(5)]
    rows[2] = ("v", rows[2][1], *offset(lat, lon, 5000, 200))
    rows.append(("v", T0 + pd.Timedelta(seconds=30), 30.0, 120.0))  # same time as fix 1: a repeat
    rows.append(("v", T0 + pd.Timedelta(seconds=10), 0.0, 0.0))
    rows.append(("w", T0, *offset(lat, lon, 9000, 0)))  # w's first fix: far from its next, kept
    rows.append(("w", T0 + pd.Timedelta(seconds=30), lat, lon))
    unsorted = [rows[i] for i in (7, 8, 4, 3, 1, 5, 6, 2, 0)]  # the repeat comes after the original
    out, rep = clean_fixes(fixes(unsorted))
    assert (rep.fixes_in, rep.invalid_positions, rep.duplicates, rep.jumps, rep.fixes_out) == (9, 1, 1, 1, 6)
    assert out["vehicle_id"].tolist() == ["v"] * 4 + ["w"] * 2
    assert out.loc[out.vehicle_id == "v", "ts"].tolist() == [T0 + pd.Timedelta(seconds=30 * k) for k in (0, 1, 3, 4)]
    assert out.loc[1, "lat"] == rows[1][2]  # the first row of a repeated time is kept


def test_a_long_stop_of_many_fixes_is_one_stop_and_cheap():
    """20,000 fixes (1 s apart) jittering within ±10 m: one stop; the hull is kept between steps,
    so this costs about the hull's size per fix, not the stop's."""
    rng = np.random.default_rng(1)
    n = 20_000
    lat, lon = offset(25.27, 110.29, rng.uniform(-10, 10, n), rng.uniform(-10, 10, n))
    f = pd.DataFrame({"vehicle_id": "v", "ts": T0 + pd.to_timedelta(np.arange(n), unit="s"), "lat": lat, "lon": lon})
    detect_stops(f.iloc[:100], 100, 60)  # compile
    got = detect_stops(f, 100, 60)  # its speed is measured in benchmarks/bench_stops.py
    assert len(got) == 1 and got["n_fixes"].iloc[0] == n


# ---------------------------------------------------------------------------------------------
# the minimum rotated rectangle


def test_rectangle_diagonal_matches_movingpandas_within_a_millimetre():
    """Random clusters (1 m–1 km, at the latitudes of Guilin, Beijing and Liverpool), including
    coordinates rounded to 1e-5°/1e-6° (as GPS exports are), collinear and repeated points."""
    shapely_geom = pytest.importorskip("shapely.geometry")
    gu = pytest.importorskip("movingpandas.geometry_utils")
    rng = np.random.default_rng(3)
    worst = 0.0
    for _ in range(1500):
        n = int(rng.integers(2, 50))
        lat0 = float(rng.choice([25.27, 39.9, 53.4]))
        s = float(rng.choice([1e-5, 1e-4, 1e-3]))
        x = 110.29 + rng.normal(0, s, n)
        y = lat0 + rng.normal(0, s, n)
        if rng.random() < 0.15:
            x[:] = x[0]
        q = float(rng.choice([1e-5, 1e-6, 0.0]))
        if q:
            x, y = np.round(x / q) * q, np.round(y / q) * q
        ref = gu.mrr_diagonal(shapely_geom.MultiPoint(list(zip(x, y, strict=True))), True)
        worst = max(worst, abs(window_diagonal(x, y, 0, n - 1) - ref))
    assert worst < 1e-3


def test_geodesic_matches_geopy_within_a_millimetre():
    geopy = pytest.importorskip("geopy.distance")
    rng = np.random.default_rng(4)
    for _ in range(300):
        lat, lon = rng.uniform(-60, 60), rng.uniform(-180, 180)
        lat2, lon2 = offset(lat, lon, rng.uniform(-1500, 1500), rng.uniform(-1500, 1500))
        assert geodesic_m(lat, lon, lat2, lon2) == pytest.approx(geopy.distance((lat, lon), (lat2, lon2)).meters, abs=1e-3)


@pytest.mark.skipif(not REALDATA.exists(), reason="../shared/realdata is not here")
def test_movingpandas_differs_only_where_geos_returns_a_hull_that_is_not_convex():
    """The one kind of disagreement seen on the real data (4 of 761 stops on the scikit-mobility
    GeoLife sample at 200 m / 300 s, 1 of 1,703 at 100 m / 120 s, none elsewhere): for more than
    50 nearly collinear points GEOS (3.14) returns a "convex hull" that zigzags (its ring turns
    both ways), the rotating calipers behind ``minimum_rotated_rectangle`` assume a convex ring,
    and MovingPandas measures a 35 m rectangle around a walk 270 m long, so it sees a stop there.
    Our rectangle is the true minimum-area one; its diagonal is at least the points' spread."""
    sg = pytest.importorskip("shapely.geometry")
    gu = pytest.importorskip("movingpandas.geometry_utils")
    f = _skmob().query("vehicle_id == '5'")
    w = f[(f.ts >= "2008-11-01 07:12:40") & (f.ts <= "2008-11-01 07:17:35")].sort_values("ts")
    pts = sg.MultiPoint(list(zip(w.lon, w.lat, strict=True)))
    ring = np.asarray(pts.convex_hull.exterior.coords)[:-1]
    e1, e2 = np.roll(ring, -1, axis=0) - ring, np.roll(ring, -2, axis=0) - np.roll(ring, -1, axis=0)
    turns = np.sign(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0])
    if not ((turns > 0).any() and (turns < 0).any()):
        pytest.skip("this GEOS returns a convex hull here: nothing to explain")
    ours = window_diagonal(w.lon.to_numpy(), w.lat.to_numpy(), 0, len(w) - 1)
    theirs = gu.mrr_diagonal(pts, True)
    spread = geodesic_m(w.lat.iloc[0], w.lon.iloc[0], w.lat.iloc[-1], w.lon.iloc[-1])
    assert len(w) > 50 and theirs < 40 < 200 < spread <= ours


# ---------------------------------------------------------------------------------------------
# agreement with MovingPandas


def _mpd_stops(f: pd.DataFrame, max_diameter: float, min_duration_s: float) -> pd.DataFrame:
    mpd = pytest.importorskip("movingpandas")
    gpd = pytest.importorskip("geopandas")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = gpd.GeoDataFrame(f.assign(vehicle_id=f.vehicle_id.astype(str)),
                             geometry=gpd.points_from_xy(f.lon, f.lat), crs=4326)
        tc = mpd.TrajectoryCollection(g, "vehicle_id", t="ts")
        ranges = mpd.TrajectoryStopDetector(tc).get_stop_time_ranges(
            max_diameter=max_diameter, min_duration=timedelta(seconds=min_duration_s))
    return pd.DataFrame({"vehicle_id": [str(r.traj_id) for r in ranges],
                         "start": pd.to_datetime([r.t_0 for r in ranges]),
                         "end": pd.to_datetime([r.t_n for r in ranges])})


def overlap_shares(a: pd.DataFrame, b: pd.DataFrame) -> tuple[float, float]:
    """Share of a's stops that overlap in time a stop of the same vehicle in b, and vice versa."""
    def share(x, y):
        if x.empty:
            return 1.0
        m = x.reset_index().merge(y, on="vehicle_id", suffixes=("", "_o"))
        hit = m[(m.start <= m.end_o) & (m.start_o <= m.end)]["index"].nunique()
        return hit / len(x)
    return share(a, b), share(b, a)


def _exact_share(a: pd.DataFrame, b: pd.DataFrame) -> float:
    key = ["vehicle_id", "start", "end"]
    both = a[key].merge(b[key], on=key)
    return len(both) / max(len(a), len(b), 1)


def _liverpool(key: str) -> pd.DataFrame:
    df = pd.read_csv(REALDATA / "mpd_examples_liverpool_bus_route14_outbound.csv")
    return pd.DataFrame({"vehicle_id": df[key].astype(str), "ts": pd.to_datetime(df["timestamp"]),
                         "lat": df["latitude"], "lon": df["longitude"]})


def _geolife_small() -> pd.DataFrame:
    df = pd.read_csv(REALDATA / "mpd_examples_geolife_small.csv", sep=";")
    ts = pd.to_datetime(df["t"], utc=True).dt.tz_localize(None)  # t is UTC: compare in UTC, zone-free
    return pd.DataFrame({"vehicle_id": df["trajectory_id"].astype(str), "ts": ts, "lat": df["Y"], "lon": df["X"]})


@functools.cache
def _skmob() -> pd.DataFrame:
    df = pd.read_csv(REALDATA / "skmob_geolife_sample.txt.gz")
    return pd.DataFrame({"vehicle_id": df["uid"].astype(str), "ts": pd.to_datetime(df["datetime"]),
                         "lat": df["lat"], "lon": df["lng"]})


@pytest.mark.skipif(not REALDATA.exists(), reason="../shared/realdata is not here")
@pytest.mark.parametrize("source", ["liverpool_vehicle", "liverpool_trip", "geolife_small"])
@pytest.mark.parametrize(("max_diameter", "min_duration"), SETTINGS)
def test_agrees_with_movingpandas_on_real_gps(source, max_diameter, min_duration):
    """Liverpool buses (per vehicle and per trip) and GeoLife (per trajectory, t converted from
    UTC): the same stops, start and end to the second (every setting here agrees exactly)."""
    f = {"liverpool_vehicle": lambda: _liverpool("vehicle_id"), "liverpool_trip": lambda: _liverpool("trip_id"),
         "geolife_small": _geolife_small}[source]()
    ours = detect_stops(f, max_diameter, min_duration)
    ref = _mpd_stops(f, max_diameter, min_duration)
    assert len(ref) > 0
    ours_share, ref_share = overlap_shares(ours, ref)
    assert ours_share >= 0.95 and ref_share >= 0.95
    assert _exact_share(ours, ref) >= 0.95


@pytest.mark.skipif(not REALDATA.exists(), reason="../shared/realdata is not here")
def test_agrees_with_movingpandas_on_a_day_of_dense_geolife():
    """Two users' 1–5 s GeoLife fixes over a few hours each (~4,000 fixes): long windows, walking
    speed, hundreds of points per stop."""
    f = _skmob()
    day = f[(f.ts >= "2008-10-24 00:00") & (f.ts < "2008-10-24 03:00") | (f.ts >= "2008-11-01") & (f.ts < "2008-11-01 06:00")]
    assert len(day) > 2500
    for d, s in [(30, 60), (100, 120)]:
        ours, ref = detect_stops(day, d, s), _mpd_stops(day, d, s)
        assert min(overlap_shares(ours, ref)) >= 0.95


def test_agrees_with_movingpandas_on_simulated_messy_trucks():
    """Simulated trucks (30 s fixes, GPS jitter, stops of 1–40 min, gaps of 5 min–3 h), given to
    both sides unsorted and with 5% repeated rows. MovingPandas keeps repeated timestamps as extra
    points; we keep the first of each (vehicle, ts): windows differ by a repeated point at most, so
    stops can differ at their edges, never in number by more than a few percent."""
    rng = np.random.default_rng(11)
    clean = _simulated_trucks(rng, n_vehicles=3, hours=16)
    messy = pd.concat([clean, clean.sample(frac=0.05, random_state=5)]).sample(frac=1.0, random_state=6)
    for d, s in SETTINGS:
        ours = detect_stops(messy, d, s)
        ref = _mpd_stops(messy.sort_values(["vehicle_id", "ts"], kind="stable"), d, s)
        assert len(ref) > 5
        assert min(overlap_shares(ours, ref)) >= 0.95
    assert _exact_share(detect_stops(clean, 100, 120), _mpd_stops(clean, 100, 120)) == 1.0


# ---------------------------------------------------------------------------------------------
# stops at an as-of date


@pytest.mark.parametrize("params", [StopParams(), StopParams(30, 60, None), StopParams(200, 300, 600)])
def test_stops_derived_from_the_index_equal_detection_on_truncated_fixes(params):
    """Stops are detected once; at a cutoff, stops final before it are kept and each vehicle's
    track after its last one is re-scanned. That equals cleaning and detecting on the fixes before
    the cutoff exactly, also right after an impossible jump (which the full table drops but a
    truncated table, where it is the last fix, keeps), at stop ends and inside stops."""
    rng = np.random.default_rng(5)
    f = _simulated_trucks(rng, n_vehicles=5, hours=72)
    spikes = rng.choice(len(f), 40, replace=False)
    f.loc[spikes, "lat"] += 0.3
    f = f.sample(frac=1.0, random_state=1)
    index = StopIndex.build(f, params)
    assert index.report.jumps >= 30
    assert params.max_gap_s is None or index.dark.size > 5
    stops = index.stops
    when = [pd.Timestamp(t) + pd.Timedelta(1) for t in index.jumps.ts[:10]]
    when += list(stops["end"].sample(6, random_state=1)) + list(stops["end"].sample(6, random_state=2) + pd.Timedelta(1))
    when += list(stops["start"].sample(6, random_state=3) + pd.Timedelta(seconds=200))
    when += list(f["ts"].sample(6, random_state=4)) + [f.ts.min(), f.ts.max() + pd.Timedelta(1)]
    for t in when:
        truncated = clean_fixes(f[f.ts < t])[0]
        expected = detect_stops(truncated, params.max_diameter_m, params.min_duration_s, params.max_gap_s)
        pd.testing.assert_frame_equal(stops_before(index, t), expected)
        pd.testing.assert_frame_equal(dark_stays(index, t), dark_stays(StopIndex.build(truncated, params), t))
    day = f.ts.min().normalize() + pd.Timedelta(days=1)
    expected = detect_stops(clean_fixes(f[f.ts < day + pd.Timedelta(days=1)])[0], params.max_diameter_m,
                            params.min_duration_s, params.max_gap_s)
    pd.testing.assert_frame_equal(stops_as_of(index, day), expected)


def test_fixes_after_as_of_change_no_stop_known_at_as_of():
    rng = np.random.default_rng(9)
    f = _simulated_trucks(rng, n_vehicles=3, hours=60)
    as_of = f.ts.min().normalize() + pd.Timedelta(days=1)
    before = f[f.ts < as_of + pd.Timedelta(days=1)]
    later = _simulated_trucks(np.random.default_rng(10), n_vehicles=4, hours=10, start=as_of + pd.Timedelta(days=1))
    a = stops_as_of(StopIndex.build(before), as_of)
    b = stops_as_of(StopIndex.build(pd.concat([f, later])), as_of)
    pd.testing.assert_frame_equal(a, b)


# ---------------------------------------------------------------------------------------------
# simulated trucks


def _simulated_trucks(rng: np.random.Generator, n_vehicles: int, hours: float,
                      start: pd.Timestamp = T0) -> pd.DataFrame:
    """Trucks driving at 20–60 km/h with 30 s fixes and ±8 m jitter, stopping 1–40 min now and
    then (fixes every 30 s or every 3 min while parked) and going dark for 5 min–3 h."""
    frames = []
    for v in range(n_vehicles):
        t = start + pd.Timedelta(seconds=float(rng.uniform(0, 600)))
        end = start + pd.Timedelta(hours=hours)
        lat, lon = 25.27 + rng.normal(0, 0.05), 110.29 + rng.normal(0, 0.05)
        heading = rng.uniform(0, 2 * np.pi)
        ts, la, lo = [], [], []
        while t < end:
            mode = rng.random()
            if mode < 0.55:  # drive
                speed = rng.uniform(20, 60) / 3.6
                for _ in range(int(rng.integers(5, 60))):
                    heading += rng.normal(0, 0.2)
                    lat, lon = offset(lat, lon, 30 * speed * np.cos(heading), 30 * speed * np.sin(heading))
                    t += pd.Timedelta(seconds=30)
                    ts.append(t)
                    la.append(lat)
                    lo.append(lon)
            elif mode < 0.9:  # park
                step = 30 if rng.random() < 0.6 else 180
                for _ in range(int(rng.uniform(60, 2400) // step)):
                    t += pd.Timedelta(seconds=step)
                    jl, jo = offset(lat, lon, rng.normal(0, 8), rng.normal(0, 8))
                    ts.append(t)
                    la.append(jl)
                    lo.append(jo)
            else:  # dark
                t += pd.Timedelta(seconds=float(rng.uniform(300, 3 * 3600)))
        frames.append(pd.DataFrame({"vehicle_id": f"桂C{v:05d}", "ts": ts, "lat": la, "lon": lo}))
    return pd.concat(frames, ignore_index=True)


def test_indexes_built_on_vehicle_partitions_merge_into_the_whole_index():
    rng = np.random.default_rng(12)
    f = _simulated_trucks(rng, n_vehicles=5, hours=30)
    f.loc[rng.choice(len(f), 20, replace=False), "lat"] += 0.3
    f["vehicle_id"] = f["vehicle_id"].astype("category")
    whole = StopIndex.build(f)
    groups = [["桂C00003", "桂C00000"], ["桂C00001"], ["桂C00004", "桂C00002"]]
    merged = StopIndex.merge([StopIndex.build(f[f.vehicle_id.isin(g)]) for g in groups])
    pd.testing.assert_frame_equal(merged.stops, whole.stops)
    assert merged.report == whole.report
    for t in f.ts.sample(8, random_state=1):
        pd.testing.assert_frame_equal(stops_before(merged, t), stops_before(whole, t))


def test_vehicle_bounds_are_each_vehicle_s_fixes_whatever_the_codes_dtype():
    """``FixArrays.vehicle_bounds``: the first and one-past-last fix of each vehicle code, an empty
    range for a vehicle without fixes; the same with int32 codes (searched without casting the
    column), with codes too narrow to number every vehicle, and with no fix at all."""
    from features.trajectories import FixArrays

    vehicles = np.array([f"v{k:03d}" for k in range(300)], dtype=object)
    vehicle = np.array([0, 0, 2, 2, 2, 5, 299, 299], dtype=np.int32)
    n = vehicle.size
    a = FixArrays(vehicle, np.arange(n, dtype=np.int64), np.zeros(n), np.zeros(n), vehicles)
    lo, hi = a.vehicle_bounds()
    assert lo.size == hi.size == 300
    assert (lo[0], hi[0], lo[1], hi[1], lo[2], hi[2], lo[5], hi[5], lo[299], hi[299]) == (0, 2, 2, 2, 2, 5, 5, 6, 6, 8)
    assert np.array_equal(lo, np.searchsorted(vehicle.astype(np.int64), np.arange(300), side="left"))
    assert np.array_equal(hi, np.searchsorted(vehicle.astype(np.int64), np.arange(300), side="right"))
    narrow = FixArrays(np.array([0, 1, 1], dtype=np.int8), np.arange(3, dtype=np.int64), np.zeros(3), np.zeros(3), vehicles)
    lo8, hi8 = narrow.vehicle_bounds()  # 300 codes do not fit in int8: searched as int64
    assert lo8.size == 300 and (lo8[1], hi8[1], lo8[200], hi8[200], lo8[299], hi8[299]) == (1, 3, 3, 3, 3, 3)
    empty = FixArrays(np.empty(0, dtype=np.int32), np.empty(0, dtype=np.int64), np.empty(0), np.empty(0), vehicles[:2])
    assert [list(b) for b in empty.vehicle_bounds()] == [[0, 0], [0, 0]]


def test_runs_break_at_a_new_vehicle_and_past_the_longest_gap_not_at_it():
    """``run_bounds``: a run ends where the vehicle changes or consecutive fixes are MORE than
    ``max_gap_s`` apart (a gap of exactly ``max_gap_s`` keeps the run); ``None``: only vehicles cut.
    ``_dark_pairs``: the same vehicle's consecutive fixes more than ``max_gap_s`` apart and within
    ``max_diameter_m``."""
    from features.trajectories import NS, TRUCK_STOPS, FixArrays, _dark_pairs, run_bounds

    gap = int(TRUCK_STOPS.max_gap_s * NS)
    ts = np.cumsum([0, 60 * NS, gap, gap + 1, 60 * NS, gap + 1, gap + 1]).astype(np.int64)
    vehicle = np.array([0, 0, 0, 0, 0, 1, 1], dtype=np.int32)
    starts, ends = run_bounds(vehicle, ts, TRUCK_STOPS.max_gap_s)
    assert starts.tolist() == [0, 3, 5, 6] and ends.tolist() == [3, 5, 6, 7]
    assert starts.dtype == ends.dtype == np.int64
    starts, ends = run_bounds(vehicle, ts, None)
    assert starts.tolist() == [0, 5] and ends.tolist() == [5, 7]
    assert run_bounds(vehicle[:0], ts[:0], 1800.0)[0].size == 0

    lat = np.array([25.0, 25.0, 25.0, 25.0, 25.0, 25.0, 25.0 + 150 / 111_195.0])  # the last: 150 m on
    a = FixArrays(vehicle, ts, lat, np.full(7, 110.0), np.array(["a", "b"], dtype=object))
    # 1→2: exactly the gap; 2→3: past it, in place; 4→5: past it, in place, another vehicle; 5→6: past it, 150 m away
    assert _dark_pairs(a, TRUCK_STOPS, run_bounds(vehicle, ts, TRUCK_STOPS.max_gap_s)[0]).tolist() == [2]
