"""features.trajectory_features._trip_features: the worst trip of each window, its trips ranked once
for every window, is the one a ranking of that window alone picks (ties included)."""

import numpy as np
import pandas as pd
import pytest

from features.trajectory_features import (
    TRIP_FEATURES,
    TRIP_FIELDS,
    TRIP_SPEC,
    TRIP_WINDOWS,
    _Columns,
    _trip_features,
    as_of_window_start,
)

AS_OF = pd.Timestamp("2023-06-30")


def _reference(out: _Columns, rows: pd.DataFrame, as_of, stems, prefix: str = "") -> None:
    """The code before: each window's trips filtered, then sorted."""
    rows = rows.assign(no_visit=rows["receipt_without_visit"].astype(float), no_gps=(~rows["has_gps"]).astype(float))
    for stem in stems:
        col, how, when, actual, usual = TRIP_SPEC[stem]
        fields = TRIP_FIELDS + (["actual", "usual"] if actual else [])
        for w in TRIP_WINDOWS[stem]:
            name = f"{prefix}{stem}_{w}d"
            r = rows[rows["departed_at"] >= as_of_window_start(as_of, w)]
            r = r.assign(when=r[when], **({"actual": r[actual], "usual": r[usual]} if actual else {}))
            vals = getattr(r.groupby("entity_id")[col], how)() if len(r) else pd.Series(dtype=float)
            vals = vals.reindex(out.index).astype("float64")
            out[name] = vals.fillna(0.0) if how == "sum" else vals
            top = r[r[col].notna() & (r[col] > 0)].sort_values([col, "departed_at"], ascending=[False, False])
            top = top.drop_duplicates("entity_id").set_index("entity_id")
            for f in fields:
                out[f"{name}@{f}"] = top[f].reindex(out.index) if len(top) else pd.Series(None, index=out.index, dtype=object)


def _trips(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    days = rng.integers(0, 400, n)  # some before every window
    departed = AS_OF - pd.to_timedelta(days, unit="D") + pd.to_timedelta(rng.integers(0, 2, n) * 3600, unit="s")
    coarse = lambda: np.where(rng.random(n) < 0.2, np.nan, rng.integers(0, 4, n).astype(float))  # noqa: E731 ties, NaN, 0
    return pd.DataFrame({
        "manifest_id": [f"M{i}" for i in range(n)], "vehicle_id": rng.choice(["桂C1", "桂C2", "桂C3"], n),
        "entity_id": rng.choice([f"E{i}" for i in range(8)], n), "departed_at": departed,
        "gps_gap_at": departed + pd.to_timedelta(rng.integers(0, 90, n), unit="min"),
        "gps_gap_max_h": coarse(), "gps_gaps_over_10min": coarse(), "duration_excess_ratio": coarse(),
        "duration_h": rng.random(n), "route_duration_median_h": rng.random(n), "detour_excess_ratio": coarse(),
        "detour_ratio": rng.random(n), "route_detour_median": rng.random(n),
        "receipt_without_visit": rng.random(n) < 0.3, "has_gps": rng.random(n) < 0.7,
    })


@pytest.mark.parametrize("seed,n", [(0, 0), (1, 5), (2, 300), (3, 3000)])
def test_windows_pick_the_trips_a_ranking_of_each_window_picks(seed, n):
    rows = _trips(seed, n)
    edge = _trips(seed + 100, 4)  # the first trips a window holds: departed at its first midnight
    edge["departed_at"] = [as_of_window_start(AS_OF, w) for w in (90, 365, 90, 365)]
    edge["entity_id"] = ["E8", "E9", "E8", "E9"]
    edge.loc[:1, ["gps_gap_max_h", "gps_gaps_over_10min", "duration_excess_ratio", "detour_excess_ratio"]] = 9.0
    rows = pd.concat([rows, edge], ignore_index=True)
    ids = pd.Index([f"E{i}" for i in range(10)], name="enterprise_id")
    got, want = _Columns(ids), _Columns(ids)
    _trip_features(got, rows, AS_OF, TRIP_FEATURES)
    _reference(want, rows, AS_OF, TRIP_FEATURES)
    assert list(got) == list(want)
    pd.testing.assert_frame_equal(got.frame(), want.frame(), check_exact=True)


def test_no_trips_at_all_give_zero_counts_and_no_evidence():
    ids = pd.Index(["E1", "E2"], name="enterprise_id")
    got, want = _Columns(ids), _Columns(ids)
    _trip_features(got, _trips(0, 0), AS_OF, TRIP_FEATURES)
    _reference(want, _trips(0, 0), AS_OF, TRIP_FEATURES)
    pd.testing.assert_frame_equal(got.frame(), want.frame(), check_exact=True)
    assert (got.frame()["manifests_without_gps_365d"] == 0).all()
    assert got.frame()["manifest_gps_gap_max_h_90d"].isna().all()
