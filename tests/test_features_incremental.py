"""Features built at many as-of dates with one shared ``AsOfCache`` are the features of a plain
build at each date: every table, every column, NaNs equal — whatever order the dates come in."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features import load_snapshot
from features.build import build, place_index
from features.incremental import AsOfCache
from features.power import PowerMonths, monthly_power
from features.trajectory_features import build_stop_index

TABLES = ("enterprise", "tip", "site", "ledger_mismatch", "manifest_checks", "stops", "vehicle")


@pytest.fixture(scope="module")
def small(small_snapshot):
    snap = load_snapshot(small_snapshot)
    return snap, build_stop_index(snap), place_index(snap)


def _same(got, want, day) -> None:
    for name in TABLES:
        try:
            pd.testing.assert_frame_equal(getattr(got, name), getattr(want, name), check_exact=True)
        except AssertionError as e:
            raise AssertionError(f"{name} at {day.date()} differs with the cache: {e}") from None


def test_shared_cache_gives_the_plain_build_at_every_date(small):
    snap, index, places = small
    cache = AsOfCache()
    # month ends and a mid-month day; the last date comes before an earlier one (the cache holds later trips then)
    days = [pd.Timestamp("2021-05-31"), pd.Timestamp("2021-10-31"), pd.Timestamp("2021-08-14")]
    for day in days:
        got = build(snap, day, trajectory_index=index, places=places, cache=cache)
        _same(got, build(snap, day, trajectory_index=index, places=places), day)
    assert cache.trip_gps.index is not None and len(cache.trip_gps.index) > 0  # trips were remembered


def test_power_months_aggregated_once_are_the_months_known_then(small):
    snap = small[0]
    every_month = PowerMonths.of(snap.electricity)
    for day in ("2021-01-31", "2021-03-30", "2021-03-31", "2021-12-31"):
        pd.testing.assert_frame_equal(monthly_power(snap.electricity, day, every_month), monthly_power(snap.electricity, day),
                                      check_exact=True)


def test_a_trip_that_reads_the_dates_restored_fix_is_measured_again():
    """The restored last fix (``stops_asof.restored_fixes``) depends on the date: a trip whose window
    holds it is neither served from the memo nor kept in it."""
    from features.incremental import TripGpsMemo
    from features.trips import _remembered

    code, t0, t1 = np.array([0, 0]), np.array([100, 500]), np.array([400, 900])
    received, rlat, rlon = np.array([True, True]), np.array([25.0, 25.0]), np.array([110.0, 110.0])
    calls = []

    def kernel_reading(ex_ts):
        def kernel(sel):
            calls.append(list(sel))
            reads = (ex_ts[code[sel]] >= t0[sel]) & (ex_ts[code[sel]] < t1[sel])
            return (np.where(reads, ex_ts[code[sel]], -1).astype(np.int64),)
        return kernel

    memo = TripGpsMemo()
    first = _remembered(kernel_reading(np.array([450])), memo, code, t0, t1, received, rlat, rlon, np.array([450]))
    assert first[0].tolist() == [-1, -1] and len(memo.index) == 2
    # a later date restores a fix at 200, inside the first trip: measured again, not taken from the memo
    later = _remembered(kernel_reading(np.array([200])), memo, code, t0, t1, received, rlat, rlon, np.array([200]))
    assert later[0].tolist() == [200, -1] and calls[-1] == [0]


def test_licence_status_at_each_date_follows_from_one_cover():
    """A licence granted after as_of is unknown then: the load it would cover has no licence, not
    an expired one, until the grant (``licences.LicenceCover``)."""
    from features.licences import LicenceCover, licence_status

    day = pd.Timestamp
    licences = pd.DataFrame({
        "licence_id": ["L1", "L2"], "enterprise_id": ["R", "R"], "kind": ["disposal", "disposal"],
        "waste_codes": ["900-041-49", "900-249-08"], "valid_from": [day("2021-01-01"), day("2021-06-01")],
        "valid_to": [day("2021-03-31"), day("2021-12-31")], "capacity_t": [100.0, 100.0]})
    receiver, code = pd.Series(["R", "R", "R", "R"]), pd.Series(["900-041-49", "900-041-49", "900-249-08", "900-000-01"])
    departed = pd.Series([day("2021-02-10 09:00"), day("2021-05-10 09:00"), day("2021-05-10 10:00"), day("2021-02-10")])
    cover = LicenceCover.of(receiver, code, departed, licences, ("disposal",))
    expected = {"2021-05-31": ["valid", "expired", "none", "none"], "2021-06-30": ["valid", "expired", "expired", "none"]}
    for as_of, want in expected.items():
        end = day(as_of) + pd.Timedelta(days=1)
        plain = licence_status(receiver, code, departed, licences[licences["valid_from"] < end], ("disposal",))
        got = cover.status(np.arange(4), receiver.index, end)
        assert got.tolist() == want
        pd.testing.assert_series_equal(got, plain, check_exact=True)


def test_route_medians_are_pandas_expanding_medians():
    """``trips._expanding_median`` (a compiled prefix median per route) gives pandas' expanding
    median to the bit: odd and even counts, ties, values with no exact decimal form."""
    from features.trips import _expanding_median

    rng = np.random.default_rng(7)
    routes = rng.integers(0, 12, 600).astype(str)
    values = np.round(rng.gamma(2.0, 3.0, 600), 1) / 3.0
    frame = pd.DataFrame({"route": routes, "v": values})
    g = frame.groupby("route", sort=False)["v"]
    want = g.expanding().median().reset_index(level=0, drop=True).reindex(frame.index).to_numpy()
    code = pd.factorize(frame["route"])[0]
    order = np.argsort(code, kind="stable")
    bounds = np.flatnonzero(np.r_[True, code[order][1:] != code[order][:-1], True])
    med, cnt = np.empty(600), np.empty(600, dtype=np.int64)
    med[order], cnt[order] = _expanding_median(values[order], bounds[:-1], bounds[1:])
    np.testing.assert_array_equal(med, want)
    np.testing.assert_array_equal(cnt, (g.cumcount() + 1).to_numpy())
    assert _expanding_median(np.array([3.0, 1.0, 2.0, 10.0]), np.array([0]), np.array([4]))[0].tolist() == [3.0, 2.0, 2.0, 2.5]


def test_stays_since_a_day_are_chained_on_the_stops_from_the_day_before_it():
    """``merge_stays(since=)`` chains only the stops from ``since`` and each vehicle's last one
    before: the same stays as chaining every stop since the first day, including a chain that
    began before ``since`` (dropped) and ties in start."""
    from features.trajectory_features import _merge, merge_stays

    rng = np.random.default_rng(3)
    n = 3000
    vehicle = rng.choice(["桂C1", "桂C2", "桂C3", "桂C4"], n)
    start = pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 30 * 96, n) * 15, unit="min")  # ties too
    stops = pd.DataFrame({"vehicle_id": pd.Series(vehicle, dtype="str"), "start": start,
                          "end": start + pd.to_timedelta(rng.integers(1, 40, n), unit="min"),
                          "lat": 25.0 + rng.integers(0, 3, n) * 0.0004, "lon": 110.0 + rng.integers(0, 3, n) * 0.0004,
                          "n_fixes": rng.integers(2, 30, n), "dark": rng.random(n) < 0.2}).sample(frac=1.0, random_state=1)
    for since in ("2021-01-10", "2021-01-17 05:00", "2021-01-25"):
        got = merge_stays(stops, 100.0, 1800.0, since=pd.Timestamp(since))
        want = _merge(stops, 100.0, 1800.0, pd.Timestamp(since))
        pd.testing.assert_frame_equal(got, want, check_exact=True)
        assert (got["n_parts"] > 1).any() and got["start"].min() >= pd.Timestamp(since)
    # two stops tie at the last start before since: the later in the input (the stable sort's order) links on
    t = pd.Timestamp("2021-03-01 09:00")
    tie = pd.DataFrame({"vehicle_id": pd.Series(["桂C1"] * 3, dtype="str"), "start": [t, t, t + pd.Timedelta(minutes=40)],
                        "end": [t + pd.Timedelta(minutes=10), t + pd.Timedelta(minutes=20), t + pd.Timedelta(minutes=50)],
                        "lat": [25.1, 25.0, 25.0], "lon": [110.0, 110.0, 110.0], "n_fixes": [5, 5, 5], "dark": [False] * 3})
    since = t + pd.Timedelta(minutes=30)
    assert merge_stays(tie, 100.0, 1800.0, since=since).empty  # the stay began at 09:00, before since
    pd.testing.assert_frame_equal(merge_stays(tie, 100.0, 1800.0, since=since), _merge(tie, 100.0, 1800.0, since))
