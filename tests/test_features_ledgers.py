"""Ledger mismatch (contract §4) and ledger/power features, each number worked out on paper."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.ledgers import MISMATCH_COLUMNS, ledger_features, ledger_mismatch
from features.power import monthly_power, power_features
from tests.feature_fixtures import CODE, electricity, load_features_snapshot, manifests

AS_OF = "2021-05-31"


@pytest.fixture(scope="module")
def snap(tmp_path_factory):
    return load_features_snapshot(tmp_path_factory.mktemp("f") / "s")


def mismatch(snap, as_of=AS_OF):
    return ledger_mismatch(snap.ledgers, snap.manifests, snap.electricity, snap.enterprises, as_of)


def row(mm, ent, month):
    return mm[(mm.enterprise_id == ent) & (mm.month == month)].iloc[0]


def test_columns_exactly_as_contract(snap):
    assert list(mismatch(snap).columns) == MISMATCH_COLUMNS
    assert MISMATCH_COLUMNS == ["as_of", "enterprise_id", "month", "waste_code", "generated_t", "accounted_t",
                                "balance_gap_t", "manifest_gap_t", "receipt_gap_t", "power_gap_t", "score"]


def test_balance_gap(snap):
    mm = mismatch(snap)
    jan = row(mm, "X1", "2021-01")
    assert pd.isna(jan["balance_gap_t"]) and pd.isna(jan["accounted_t"])  # first month: opening stock unknown
    feb = row(mm, "X1", "2021-02")
    assert feb["accounted_t"] == pytest.approx(5 + 0 + (0 - 2))  # transferred + onsite + Δstock = 3
    assert feb["balance_gap_t"] == pytest.approx(2.0)
    assert row(mm, "X1", "2021-03")["balance_gap_t"] == pytest.approx(-4.0)
    assert row(mm, "P1", "2021-03")["balance_gap_t"] == pytest.approx(0.0)


def test_manifest_gap(snap):
    mm = mismatch(snap)
    assert row(mm, "X1", "2021-03")["manifest_gap_t"] == pytest.approx(9 - 5)
    assert row(mm, "X1", "2021-01")["manifest_gap_t"] == pytest.approx(0.0)
    assert row(mm, "P2", "2021-02")["manifest_gap_t"] == pytest.approx(0.0)


def test_receipt_gap_and_the_30_day_rule(snap):
    mm = mismatch(snap)
    assert row(mm, "X1", "2021-03")["receipt_gap_t"] == pytest.approx(1.0)  # 5 shipped, 4 received
    # MX4 departed 2021-04-15 09:00, never confirmed: missing once 30 days have passed
    assert row(mm, "X1", "2021-04")["receipt_gap_t"] == pytest.approx(5.0)
    early = mismatch(snap, "2021-05-14")
    assert row(early, "X1", "2021-04")["receipt_gap_t"] == pytest.approx(0.0)
    assert row(mismatch(snap, "2021-05-15"), "X1", "2021-04")["receipt_gap_t"] == pytest.approx(5.0)


def test_power_gap_blends_own_history_and_peers(snap):
    mm = mismatch(snap)
    # peers' median t/kWh = median(0.001, 0.001, 0.001, 0.0005) = 0.001; X1 has no earlier month in January
    assert row(mm, "X1", "2021-01")["power_gap_t"] == pytest.approx(0.001 * 10_000 - 5, abs=1e-3)
    # February: own prior 0.0005 from one month, peers weigh as 6 months
    blended = (1 * 0.0005 + 6 * 0.001) / 7
    assert row(mm, "X1", "2021-02")["power_gap_t"] == pytest.approx(blended * 10_000 - 5, abs=1e-3)
    assert row(mm, "P1", "2021-03")["power_gap_t"] == pytest.approx(0.0, abs=1e-3)


def test_only_months_ended_by_as_of(snap):
    mm = mismatch(snap, "2021-03-30")
    assert sorted(mm.month.unique()) == ["2021-01", "2021-02"]
    assert sorted(mismatch(snap, "2021-03-31").month.unique()) == ["2021-01", "2021-02", "2021-03"]


def test_score_in_unit_interval_and_orders_gaps(snap):
    mm = mismatch(snap)
    assert mm["score"].between(0, 1).all()
    assert row(mm, "X1", "2021-03")["score"] > row(mm, "P1", "2021-03")["score"]
    assert row(mm, "P1", "2021-03")["score"] == pytest.approx(0.0)


def test_ledger_features_sum_gaps_with_evidence(snap):
    mm = mismatch(snap)
    f = ledger_features(mm, snap.ledgers, snap.electricity, snap.enterprises, AS_OF)
    x = f.loc["X1"]
    tol = 0.1  # 2% of 5 t
    assert x["balance_gap_t_365d"] == pytest.approx(2.0 - tol)
    assert x["balance_gap_t_365d@month"] == "2021-02"
    assert x["manifest_gap_t_365d"] == pytest.approx(4.0 - tol)
    assert x["manifest_gap_t_365d@month"] == "2021-03"
    assert x["receipt_gap_t_365d"] == pytest.approx((1.0 - tol) + (5.0 - tol))
    assert x["over_3t_365d"] == 1.0
    assert f.loc["P1", "unaccounted_t_365d"] == pytest.approx(0.0)
    assert f.loc["P1", "over_3t_365d"] == 0.0
    # X1 makes half the waste per kWh its peers do
    assert x["intensity_vs_peers_365d"] == pytest.approx(0.5)


def test_monthly_power_scales_partial_months():
    # 20 of 31 metered days in January with 100 kWh a day -> 3100 kWh; 10 of 28 in February -> unknown
    text = electricity(["P1"], "2021-01-01", "2021-01-20", {"P1": 3100.0}, {})
    text += "\n".join(f"P1,2021-02-{d:02d},100,10" for d in range(1, 11)) + "\n"
    e = pd.read_csv(pd.io.common.StringIO(text), parse_dates=["date"])
    mp = monthly_power(e, "2021-03-31")
    assert mp.set_index("month").loc[pd.Period("2021-01"), "kwh"] == pytest.approx(3100.0)
    assert pd.isna(mp.set_index("month").loc[pd.Period("2021-02"), "kwh"])


def test_power_features_night_share(snap):
    f = power_features(snap.electricity, snap.enterprises, "2021-04-30")
    assert f.loc["X1", "night_share_90d"] == pytest.approx(0.6)
    assert f.loc["P1", "night_share_90d"] == pytest.approx(0.2)
    assert f.loc["X1", "night_share_excess_90d"] == pytest.approx(0.6 - 0.2)


def test_rows_after_as_of_change_nothing(tmp_path):
    as_of = "2021-04-30"
    base = load_features_snapshot(tmp_path / "a")
    later = load_features_snapshot(tmp_path / "b", extra={
        "ledgers": f"X1,2021-05,{CODE},50,0,0,0\nP1,2021-05,{CODE},1,0,0,0\n",
        "manifests": manifests([("MZ", "X1", "T1", "R2", "桂C10002", CODE, 30, "2021-05-01T00:00:00", 1, "2021-05-03T00:00:00")]).split("\n", 1)[1],
        "electricity": "X1,2021-05-01,99999,99999\nP2,2021-05-01,5,0\n",
    })
    a = mismatch(base, as_of)
    b = mismatch(later, as_of)
    pd.testing.assert_frame_equal(a, b)
    fa = ledger_features(a, base.ledgers, base.electricity, base.enterprises, as_of)
    fb = ledger_features(b, later.ledgers, later.electricity, later.enterprises, as_of)
    pd.testing.assert_frame_equal(fa, fb)
    pd.testing.assert_frame_equal(power_features(base.electricity, base.enterprises, as_of),
                                  power_features(later.electricity, later.enterprises, as_of))


def test_receipt_after_as_of_is_not_known(tmp_path):
    # MX3's receipt arrives after as_of in this variant: at as_of it is unconfirmed (departed 2021-03-15)
    snap = load_features_snapshot(tmp_path / "s")
    m = snap.manifests.copy()
    m.loc[m.manifest_id == "MX3", "received_at"] = pd.Timestamp("2021-06-01")
    mm = ledger_mismatch(snap.ledgers, m, snap.electricity, snap.enterprises, "2021-04-13")
    assert row(mm, "X1", "2021-03")["receipt_gap_t"] == pytest.approx(0.0)  # 29 days: not yet missing
    mm = ledger_mismatch(snap.ledgers, m, snap.electricity, snap.enterprises, "2021-04-30")
    assert row(mm, "X1", "2021-03")["receipt_gap_t"] == pytest.approx(5.0)  # wholly missing, receipt unknown


def test_under_declared_generation_raises_the_score_of_that_month(snap):
    """P1 makes 10 t on 10,000 kWh every month (as its peers). In April it declares 6 t on the same
    power, and ships 6 t: the ledger balances and the manifests match, only power shows the 4 t."""
    led = snap.ledgers.copy()
    april = (led.enterprise_id == "P1") & (led.month.astype(str) == "2021-04")
    led.loc[april, ["generated_t", "transferred_t"]] = 6.0
    man = snap.manifests.copy()
    man.loc[man.manifest_id == "MP14", "quantity_t"] = 6.0
    man.loc[man.manifest_id == "MP14", "received_t"] = 6.0
    honest = row(mismatch(snap), "P1", "2021-04")
    mm = ledger_mismatch(led, man, snap.electricity, snap.enterprises, AS_OF)
    hidden = row(mm, "P1", "2021-04")
    assert hidden["balance_gap_t"] == pytest.approx(0) and hidden["manifest_gap_t"] == pytest.approx(0)
    assert hidden["power_gap_t"] == pytest.approx(4.0, abs=1e-3)
    # beyond the honest noise (a quarter of the 10 t implied) 1.5 t count: 1 - exp(-1.5 / 3)
    assert hidden["score"] == pytest.approx(1 - np.exp(-1.5 / 3), abs=1e-3)
    assert honest["score"] == pytest.approx(0.0) and hidden["score"] > row(mm, "P1", "2021-03")["score"]


def test_a_power_gap_within_honest_noise_does_not_count(snap):
    led = snap.ledgers.copy()
    april = (led.enterprise_id == "P1") & (led.month.astype(str) == "2021-04")
    led.loc[april, ["generated_t", "transferred_t"]] = 7.6  # 2.4 t below the 10 t implied: under a quarter
    mm = ledger_mismatch(led, snap.manifests, snap.electricity, snap.enterprises, AS_OF)
    assert row(mm, "P1", "2021-04")["power_gap_t"] == pytest.approx(2.4, abs=1e-3)
    assert row(mm, "P1", "2021-04")["score"] == pytest.approx(0.0, abs=1e-6)


def test_a_load_never_confirmed_counts_half_of_a_load_short_in_the_score(snap):
    mm = mismatch(snap)
    # X1 April: MX4 (5 t) never confirmed -> receipt gap 5 t, counted 2.5 t less the 0.1 t tolerance;
    # plus the power gap beyond a quarter of the waste power implies (declared 5 t + the gap)
    apr = row(mm, "X1", "2021-04")
    assert apr["receipt_gap_t"] == pytest.approx(5.0)
    gap = apr["power_gap_t"]
    assert apr["score"] == pytest.approx(1 - np.exp(-(2.5 - 0.1 + gap - 0.25 * (5 + gap)) / 3), abs=1e-3)
