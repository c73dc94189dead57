"""The fast stop scan (``features.stops_scan``) finds exactly the stops of the scan it replaced
(``tests/stops_reference.py``): same first fix, last fix and closing fix for every stop, on the
simulated city, on the real GPS data and on random tracks built to hit each of its shortcuts
(witness pairs that expire, a sliding window whose hull loses a vertex, stops small enough to need
no hull, latitudes where a degree of longitude is short)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.stops_scan import scan_stops
from features.trajectories import NS, clean_arrays, run_bounds
from tests.stops_reference import scan_stops_reference

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"


def assert_same_stops(fixes: pd.DataFrame, settings, gaps=(1800.0, None)) -> int:
    a, _, _ = clean_arrays(fixes)
    found = 0
    for gap in gaps:
        starts, ends = run_bounds(a.vehicle, a.ts, gap)
        for max_diameter, min_duration in settings:
            args = (a.lat, a.lon, a.ts, starts, ends, float(max_diameter), int(min_duration * NS))
            fast, ref = scan_stops(*args), scan_stops_reference(*args)
            for got, want, what in zip(fast, ref, ("first fix", "last fix", "closing fix"), strict=True):
                assert np.array_equal(got, want), f"{what} differs at {max_diameter} m, {min_duration} s, gap {gap}"
            found += len(ref[0])
    return found


def test_the_same_stops_as_the_reference_scan_in_the_simulated_city(small_snapshot):
    f = pd.read_csv(Path(small_snapshot) / "trajectories.csv", usecols=["vehicle_id", "ts", "lat", "lon"],
                    parse_dates=["ts"])
    assert assert_same_stops(f, [(100, 300), (30, 60)], gaps=(1800.0,)) > 1000
    assert assert_same_stops(f, [(200, 300)], gaps=(None,)) > 1000


@pytest.mark.skipif(not REALDATA.exists(), reason="../shared/realdata is not here")
def test_the_same_stops_as_the_reference_scan_on_real_gps():
    """Liverpool buses and the two GeoLife samples (people on foot, by bus and by car, 1-5 s fixes)."""
    liv = pd.read_csv(REALDATA / "mpd_examples_liverpool_bus_route14_outbound.csv")
    geo = pd.read_csv(REALDATA / "mpd_examples_geolife_small.csv", sep=";")
    sk = pd.read_csv(REALDATA / "skmob_geolife_sample.txt.gz")
    f = pd.concat([
        pd.DataFrame({"vehicle_id": "liv" + liv["vehicle_id"].astype(str), "ts": pd.to_datetime(liv["timestamp"]),
                      "lat": liv["latitude"], "lon": liv["longitude"]}),
        pd.DataFrame({"vehicle_id": "geo" + geo["trajectory_id"].astype(str),
                      "ts": pd.to_datetime(geo["t"], utc=True).dt.tz_localize(None), "lat": geo["Y"], "lon": geo["X"]}),
        pd.DataFrame({"vehicle_id": "sk" + sk["uid"].astype(str), "ts": pd.to_datetime(sk["datetime"]),
                      "lat": sk["lat"], "lon": sk["lng"]}),
    ], ignore_index=True)
    assert assert_same_stops(f, [(100, 300), (30, 60), (200, 120)]) > 1000


def random_tracks(seed: int, vehicles: int = 12) -> pd.DataFrame:
    """Tracks that alternate driving (5-25 m/s), walking pace drifts (0.2-1.5 m/s, the windows
    that are almost stops), parked jitter (2-60 m) and GPS noise, fixes every 1-30 s, at latitudes
    from the equator to 62°, so every shortcut of the scan is taken and refused many times."""
    rng = np.random.default_rng(seed)
    parts = []
    for v in range(vehicles):
        lat0, lon0 = rng.uniform(-5, 62), rng.uniform(-170, 170)
        step = rng.choice([1, 2, 5, 10, 30])
        n = int(rng.integers(2_000, 5_000))
        speed = np.empty(n)
        heading = np.empty(n)
        k = 0
        while k < n:
            length = int(rng.integers(10, 400))
            mode = rng.choice(["drive", "drift", "park"], p=[0.35, 0.3, 0.35])
            pace = {"drive": rng.uniform(5, 25), "drift": rng.uniform(0.2, 1.5), "park": 0.0}[mode]
            speed[k:k + length] = pace
            heading[k:k + length] = rng.uniform(0, 2 * np.pi) + np.cumsum(rng.normal(0, 0.2, min(length, n - k)))
            k += length
        north = np.cumsum(speed * step * np.cos(heading))
        east = np.cumsum(speed * step * np.sin(heading))
        noise = rng.choice([2.0, 8.0, 25.0, 60.0]) * rng.standard_normal((2, n))
        north, east = north + noise[0], east + noise[1]
        parts.append(pd.DataFrame({
            "vehicle_id": f"v{v}",
            "ts": pd.Timestamp("2022-05-01") + pd.to_timedelta(np.arange(n) * step, unit="s"),
            "lat": np.round(lat0 + north / 111_195.0, 6),
            "lon": np.round(lon0 + east / (111_195.0 * np.cos(np.radians(lat0))), 6),
        }))
    return pd.concat(parts, ignore_index=True)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_same_stops_as_the_reference_scan_on_random_tracks(seed):
    assert assert_same_stops(random_tracks(seed), [(100, 300), (30, 60), (300, 600)]) > 50


@pytest.mark.parametrize("seed", range(4))
def test_the_small_box_bound_holds_the_minimum_rectangle_s_diagonal(seed):
    """``_surely_small``'s bound on the diagonal of GEOS's minimum-area rectangle (in degrees, as the
    scan measures it) holds for any points: thin shapes at any angle, triangles (whose rectangle lies
    along a side and reaches past the box's own diagonal), clouds. The box's own diagonal does not."""
    import shapely

    from features.stops_scan import _surely_small

    rng = np.random.default_rng(seed)
    past_box = 0
    for k in range(400):
        n = int(rng.integers(3, 12))
        if k % 3 == 0:  # a triangle, stretched and turned
            pts = rng.random((3, 2)) * [1.0, rng.uniform(0.05, 1.0)]
        elif k % 3 == 1:  # a thin strip
            pts = np.column_stack([rng.random(n), rng.random(n) * rng.uniform(0.001, 0.2)])
        else:
            pts = rng.random((n, 2))
        a = rng.uniform(0, np.pi)
        pts = pts @ np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) * 1e-3 + [110.3, 25.3]
        corners = np.asarray(shapely.minimum_rotated_rectangle(shapely.multipoints(pts)).exterior.coords)
        diag = float(np.hypot(*(corners[2] - corners[0])))
        w, h = np.ptp(pts[:, 0]), np.ptp(pts[:, 1])
        bound = np.sqrt(w * w + h * h + (w * h) ** 2 / (w * w + h * h))
        assert diag <= bound * (1 + 1e-9), (k, diag, bound)
        assert _surely_small(w, h, bound * (1 + 1e-6)) and not _surely_small(w, h, bound * (1 - 1e-6))
        past_box += diag > np.hypot(w, h) * (1 + 1e-6)
    assert past_box > 10  # the box's diagonal alone would not bound them


@pytest.mark.parametrize("seed", range(4))
def test_the_hull_of_the_candidates_is_the_window_s_hull_with_the_same_fixes(seed):
    """``_hull_candidates`` (Akl–Toussaint) drops only fixes strictly inside the quadrilateral of the
    window's extreme fixes: the hull built from the rest has the same vertices, in the same order,
    each the same fix (the first of repeated positions), on clouds, grids with repeats and collinear
    runs, thin strips and three-fix windows; and it does drop the inside of a cloud."""
    from features.stops_kernel import hull_with_fixes
    from features.stops_scan import _hull_candidates

    def hull(lon, lat, idx):
        n = idx.size
        hx, hy, hi = np.empty(n + 2), np.empty(n + 2), np.empty(n + 2, dtype=np.int64)
        h = hull_with_fixes(lon[idx], lat[idx], idx.astype(np.int64), n, hx, hy, hi, np.empty(n + 2, dtype=np.int64),
                            np.empty(2 * n + 6), np.empty(2 * n + 6), np.empty(2 * n + 6, dtype=np.int64))
        return hx[:h], hy[:h], hi[:h]

    rng = np.random.default_rng(seed)
    dropped = kept = 0  # in the clouds
    for k in range(300):
        n = int(rng.integers(3, 200))
        shape = k % 4
        if shape == 0:  # a cloud
            pts = rng.normal(size=(n, 2))
        elif shape == 1:  # a small grid: repeated positions, collinear fixes on every side
            pts = rng.integers(0, 4, size=(n, 2)).astype(float)
        elif shape == 2:  # a thin strip, turned
            pts = np.column_stack([rng.random(n), rng.random(n) * 1e-4])
        else:  # three fixes
            pts = rng.random((3, 2))
        a = rng.uniform(0, np.pi)
        pts = pts @ np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) * 3e-4 + [110.3, 25.3]
        lon, lat = np.ascontiguousarray(pts[:, 0]), np.ascontiguousarray(pts[:, 1])
        lo, hi = 0, len(lon) - 1
        left, right = int(np.argmin(lon)), int(np.argmax(lon))
        bottom, top = int(np.argmin(lat)), int(np.argmax(lat))
        tx, ty, tidx = np.empty(len(lon)), np.empty(len(lon)), np.empty(len(lon), dtype=np.int64)
        m = _hull_candidates(lat, lon, lo, hi, left, bottom, right, top, tx, ty, tidx)
        assert np.all(np.diff(tidx[:m]) > 0)  # in fix order
        assert np.array_equal(lon[tidx[:m]], tx[:m]) and np.array_equal(lat[tidx[:m]], ty[:m])
        every = hull(lon, lat, np.arange(len(lon)))
        some = hull(lon, lat, tidx[:m])
        for x, y in zip(every, some, strict=True):
            assert np.array_equal(x, y), (k, every, some)
        if shape == 0:
            dropped += len(lon) - m
            kept += m
    assert dropped > 2 * kept  # most of a cloud's fixes are inside: its hull is built from few
