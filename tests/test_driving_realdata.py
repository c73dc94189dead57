"""The driving rules on real GPS that nobody here made (../shared/realdata, see its PROVENANCE.md):
Liverpool buses on route 14 (25-s fixes, one afternoon) and two GeoLife users in Beijing (1-5 s
fixes over five months, on foot and in vehicles). What they show is part of the check."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.contract import TABLES
from features.driving import DrivingParams, driving_events
from features.geo import haversine_m
from features.snapshot import Snapshot, empty_frame

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
pytestmark = pytest.mark.skipif(not REALDATA.exists(), reason="../shared/realdata is not here")


def _events(f: pd.DataFrame) -> pd.DataFrame:
    snap = Snapshot(path=Path("."), **{n: empty_frame(TABLES[n]) for n in TABLES})
    snap.trajectories = f
    snap.vehicles = pd.DataFrame({"vehicle_id": sorted(f["vehicle_id"].unique()), "transporter_id": "E", "hazmat_permit": True})
    snap.enterprises = pd.DataFrame({"enterprise_id": ["E"], "lat": [f["lat"].median()], "lon": [f["lon"].median()]})
    last = f["ts"].max().normalize()
    days = (last - f["ts"].min().normalize()).days + 1
    return driving_events(snap, last, params=DrivingParams(window_days=days)).events


def _steps(f: pd.DataFrame) -> pd.DataFrame:
    f = f.sort_values(["vehicle_id", "ts"], ignore_index=True)
    same = f["vehicle_id"].eq(f["vehicle_id"].shift()).to_numpy()
    d = haversine_m(f["lat"].shift(), f["lon"].shift(), f["lat"], f["lon"])
    dt = f["ts"].diff().dt.total_seconds().to_numpy()
    return f.assign(dt=np.where(same, dt, np.nan), step_m=np.where(same, d, np.nan),
                    kmh=np.where(same, d / dt * 3.6, np.nan))


@functools.cache
def _bus() -> pd.DataFrame:
    df = pd.read_csv(REALDATA / "mpd_examples_liverpool_bus_route14_outbound.csv")
    return pd.DataFrame({"vehicle_id": df["vehicle_id"].astype(str), "ts": pd.to_datetime(df["timestamp"]),
                         "lat": df["latitude"], "lon": df["longitude"]})


@functools.cache
def _geolife() -> pd.DataFrame:
    df = pd.read_csv(REALDATA / "skmob_geolife_sample.txt.gz")
    return pd.DataFrame({"vehicle_id": df["uid"].astype(str),
                         "ts": pd.to_datetime(df["datetime"]) + pd.Timedelta(hours=8),  # GeoLife is UTC; Beijing is UTC+8
                         "lat": df["lat"], "lon": df["lng"]})


def test_buses_in_town_neither_speed_nor_tire_and_their_runs_out_of_the_file_are_silences():
    """8 buses, 1,533 fixes without reported speed: the fastest step is 56 km/h (under 60), no bus
    drives anywhere near 4 h in the 2.4 hours, no zone. Between outbound trips each bus makes its
    inbound run, which this file does not hold: 8 silences of 31-52 min over 5-8.5 km; the three
    whose straight line averages 10 km/h or more are 'silent while moving', the others too slow on
    the straight line to tell from a bus standing at the terminus."""
    f = _bus()
    ev = _events(f)
    assert set(ev["category"]) == {"silent"}
    s = _steps(f)
    gaps = s[(s["dt"] > 600) & (s["step_m"] >= 1000) & (s["kmh"] >= 10)]
    assert len(s[s["dt"] > 600]) == 8 and len(gaps) == 3
    assert sorted(zip(ev["vehicle_id"], ev["end"], strict=True)) == sorted(zip(gaps["vehicle_id"], gaps["ts"], strict=True))
    assert ev["distance_km"].between(8.0, 9.0).all()


def test_geolife_on_foot_never_makes_a_driving_event_and_its_rides_are_real():
    """Two GeoLife users, 217,653 fixes every 1-5 s with metres of jitter: the speed between fixes a
    second apart is noisy, but no stretch on foot (no step over 10 km/h within a minute) makes an
    event. With their rides in cars, buses and trains (GeoLife is all of these) there are speeding
    events: each is a run of many fixes at a median speed far over walking, not a burst of jitter."""
    f = _steps(_geolife())
    fast = f["kmh"].fillna(0.0).gt(10.0).astype(int)
    near_fast = fast.groupby(f["vehicle_id"]).transform(lambda s: s.rolling(25, center=True, min_periods=1).max())
    walking = f[near_fast == 0][["vehicle_id", "ts", "lat", "lon"]]
    assert len(walking) > 50_000
    on_foot = _events(walking)
    assert not set(on_foot["category"]) & {"speeding", "fatigue", "restricted"}
    ev = _events(f[["vehicle_id", "ts", "lat", "lon"]])
    sp = ev[ev["category"] == "speeding"]
    assert 10 <= len(sp) <= 60 and not (ev["category"] == "fatigue").any()
    for e in sp.itertuples():
        run = f[(f["vehicle_id"] == e.vehicle_id) & (f["ts"] >= e.first_fix) & (f["ts"] <= e.last_fix)]
        assert len(run) >= 3 and run["kmh"].median() > 50.0 and (e.end - e.start) >= pd.Timedelta(minutes=1)
