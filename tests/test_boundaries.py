"""The boundaries the contract and the law name, each pinned on both sides: the 180-day label window,
the 365- and 90-day feature windows, the 12- and 3-month ledger windows, what a tip's label may know,
a receipt dated after the as-of date, a licence's first and last day, and the 3-tonne line."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.timeutil import in_window
from tests.feature_fixtures import CODE, load_features_snapshot, manifests

T = pd.Timestamp
SECOND = pd.Timedelta(seconds=1)


# ---- feature windows: (as_of - days, as_of], as midnights --------------------------------------------------------


@pytest.mark.parametrize("days", [90, 365])
def test_a_window_holds_its_first_midnight_and_not_the_second_before(days):
    as_of = T("2021-12-31")
    first = T("2022-01-01") - pd.Timedelta(days=days)  # the window's first instant
    rows = pd.DataFrame({"t": [first - SECOND, first, T("2021-12-31 23:59:59"), T("2022-01-01")]})
    assert in_window(rows, "t", as_of, days)["t"].tolist() == [first, T("2021-12-31 23:59:59")]


def test_tips_naming_an_enterprise_count_over_90_and_365_days():
    from features.network import tip_count_features

    times = ["2021-10-03 00:00:00", "2021-10-02 23:59:59", "2021-01-01 00:00:00", "2020-12-31 23:59:59",
             "2021-12-31 23:59:59", "2022-01-01 00:00:00"]
    tips = pd.DataFrame({"tip_id": [f"K{i}" for i in range(6)], "received_at": pd.to_datetime(times),
                         "channel": ["informant", "12369", "informant", "informant", "12369", "informant"],
                         "enterprise_id": "X1"})
    f = tip_count_features(tips, pd.DataFrame({"enterprise_id": ["X1", "X2"]}), "2021-12-31").loc["X1"]
    assert f["tips_naming_90d"] == 2  # 10-03 00:00 and 12-31 23:59:59; not 10-02 23:59:59
    assert f["tips_naming_365d"] == 4  # from 2021-01-01 00:00; not 2020-12-31 23:59:59, not the next day
    assert f["informant_tips_365d"] == 2


def test_power_over_90_days():
    from features.power import power_features

    e = pd.DataFrame({"enterprise_id": "P1", "date": pd.to_datetime(["2020-12-31", "2021-01-01", "2021-03-31", "2021-04-01"]),
                      "kwh": [1000.0, 1.0, 10.0, 100000.0], "night_kwh": [1000.0, 0.5, 1.0, 100000.0]})
    f = power_features(e, pd.DataFrame({"enterprise_id": ["P1"], "industry_code": ["C2661"]}), "2021-03-31").loc["P1"]
    assert f["power_kwh_90d"] == pytest.approx(11.0)  # 2021-01-01 is the 90th day back; 2020-12-31 is not
    assert f["night_share_90d"] == pytest.approx(1.5 / 11.0)


@pytest.fixture(scope="module")
def fsnap(tmp_path_factory):
    return load_features_snapshot(tmp_path_factory.mktemp("b") / "s")


def _manifest_features(snap, extra: list[tuple], as_of: str):
    from features.manifests import manifest_checks, manifest_features
    from features.network import network_features

    m = snap.manifests
    if extra:
        more = pd.read_csv(pd.io.common.StringIO(manifests(extra)), dtype={"waste_code": str})
        more["departed_at"], more["received_at"] = pd.to_datetime(more["departed_at"]), pd.to_datetime(more["received_at"])
        m = pd.concat([m, more.astype({c: m[c].dtype for c in more.columns if c in m})], ignore_index=True)
    checks = manifest_checks(m, snap.licences, snap.vehicles, snap.enterprises, as_of)
    return (manifest_features(checks, snap.ledgers, snap.licences, snap.vehicles, snap.enterprises, as_of),
            network_features(checks, snap.cases, snap.enterprises, as_of))


def test_manifests_count_over_365_days_as_producer_receiver_and_partner(fsnap):
    """As of 2022-01-09 the window opens at 2021-01-10 00:00 (the peers' January loads left at 09:00
    that day). A load at that midnight counts for its producer (P1), its receiver (R2, not licensed
    for HW08) and the network (P3, with a confirmed case, on X1's second vehicle); one a second
    earlier counts for none of them."""
    as_of = "2022-01-09"

    def loads(when: str) -> list[tuple]:
        return [("MB1", "P1", "T1", "R2", "桂C10001", CODE, 7, when, 7, "2021-01-10T02:00:00"),
                ("MB2", "P3", "T1", "R1", "桂C10002", CODE, 2, when, 2, "2021-01-10T02:00:00")]

    base, net = _manifest_features(fsnap, [], as_of)
    assert base.loc["P1", "manifests_365d"] == 4 and base.loc["R2", "received_unlicensed_t_365d"] == 5.0
    assert net.loc["X1", "shared_vehicles_with_flagged_365d"] == 1  # 桂C10001, which P3 also used
    older, n_older = _manifest_features(fsnap, loads("2021-01-09T23:59:59"), as_of)
    first, n_first = _manifest_features(fsnap, loads("2021-01-10T00:00:00"), as_of)
    assert older.loc["P1", "manifests_365d"] == 4 and first.loc["P1", "manifests_365d"] == 5
    assert older.loc["R2", "received_unlicensed_t_365d"] == 5.0 and first.loc["R2", "received_unlicensed_t_365d"] == 12.0
    assert n_older.loc["X1", "shared_vehicles_with_flagged_365d"] == 1 and n_first.loc["X1", "shared_vehicles_with_flagged_365d"] == 2


# ---- receipts after the as-of date; licences on their first and last day ------------------------------------------


def test_a_receipt_dated_after_the_as_of_date_is_not_known(fsnap):
    """MX3 (departed 2021-03-15, 5 t, 4 t received) confirmed at the last second of the as-of date
    is a receipt; confirmed at the next midnight it is not: unconfirmed, overdue, no shrinkage."""
    from features.manifests import manifest_checks, manifest_features

    def at(received: str, as_of: str = "2021-05-31"):
        m = fsnap.manifests.copy()
        m.loc[m.manifest_id == "MX3", "received_at"] = T(received)
        c = manifest_checks(m, fsnap.licences, fsnap.vehicles, fsnap.enterprises, as_of)
        f = manifest_features(c, fsnap.ledgers, fsnap.licences, fsnap.vehicles, fsnap.enterprises, as_of)
        return c.set_index("manifest_id").loc["MX3"], f.loc["X1"]

    known, fk = at("2021-05-31 23:59:59")
    assert known["confirmed"] and not known["overdue"] and known["shrink_t"] == pytest.approx(1.0)
    assert known["late"] and known["transit_h"] == pytest.approx((T("2021-05-31 23:59:59") - T("2021-03-15 09:00")).total_seconds() / 3600)
    later, fl = at("2021-06-01 00:00:00")
    assert not later["confirmed"] and later["overdue"] and pd.isna(later["shrink_t"]) and pd.isna(later["transit_h"])
    assert not later["late"]
    assert fl["unconfirmed_t_365d"] == pytest.approx(fk["unconfirmed_t_365d"] + 5.0)  # MX3's 5 t join MX4's
    assert fl["shrinkage_t_365d"] == pytest.approx(0.0) and fk["shrinkage_t_365d"] == pytest.approx(0.9)


@pytest.mark.parametrize("day, status", [("2019-12-31", "expired"), ("2020-01-01", "valid"), ("2021-12-31", "valid"),
                                         ("2022-01-01", "expired")])
def test_a_licence_is_valid_on_its_first_and_last_day(fsnap, day, status):
    """L1: R1 may dispose of HW08 from 2020-01-01 to 2021-12-31, both days included."""
    from features.licences import capacity_at, licence_status

    s = licence_status(pd.Series(["R1"]), pd.Series([CODE]), pd.Series([T(day) + pd.Timedelta(hours=23)]),
                       fsnap.licences, ("disposal",))
    assert s.tolist() == [status]
    cap = capacity_at(fsnap.licences, day)
    assert cap.get("R1", np.nan) == (100.0 if status == "valid" else pytest.approx(np.nan, nan_ok=True))


def test_a_licence_issued_after_the_as_of_date_is_not_known(fsnap):
    from features.manifests import manifest_checks

    lic = pd.concat([fsnap.licences, pd.DataFrame({"licence_id": ["L9"], "enterprise_id": ["R2"], "kind": ["disposal"],
                                                   "waste_codes": ["HW08"], "capacity_t": [10.0],
                                                   "valid_from": [T("2021-04-01")], "valid_to": [T("2021-06-30")]})],
                    ignore_index=True)
    lic_late = lic.assign(valid_from=lic["valid_from"].where(lic["licence_id"] != "L9", T("2021-06-01")))
    on = manifest_checks(fsnap.manifests, lic, fsnap.vehicles, fsnap.enterprises, "2021-05-31").set_index("manifest_id")
    assert on.loc["MX4", "receiver_licence"] == "valid"  # departed 2021-04-15, inside L9
    off = manifest_checks(fsnap.manifests, lic_late, fsnap.vehicles, fsnap.enterprises, "2021-05-31").set_index("manifest_id")
    assert off.loc["MX4", "receiver_licence"] == "none"  # L9 not issued by the as-of date


# ---- ledger windows: the 12 and 3 complete months up to the as-of date, and the 3-tonne line ------------------------


def _gap_rows(months: list[str], gap: float = 1.5, generated: float = 25.0) -> pd.DataFrame:
    """Mismatch rows of X1 each leaving exactly ``gap - 2% of generated`` = 1.0 t unaccounted."""
    return pd.DataFrame({"enterprise_id": "X1", "month": months, "waste_code": CODE, "generated_t": generated,
                         "accounted_t": generated, "balance_gap_t": gap, "manifest_gap_t": 0.0, "receipt_gap_t": 0.0,
                         "power_gap_t": np.nan, "score": 0.5})


def test_a_ledger_month_is_known_from_its_last_day_not_the_day_before():
    from features.timeutil import month_end, months_known

    months = pd.Series(pd.PeriodIndex(["2024-02", "2023-02", "2021-12", None], freq="M"))
    ends = month_end(months)
    assert ends.iloc[:3].tolist() == [T("2024-02-29"), T("2023-02-28"), T("2021-12-31")] and pd.isna(ends.iloc[3])
    ledgers = pd.DataFrame({"month": months})
    assert months_known(ledgers, "2024-02-28")["month"].astype(str).tolist() == ["2023-02", "2021-12"]
    assert months_known(ledgers, "2024-02-29 23:59")["month"].astype(str).tolist() == ["2024-02", "2023-02", "2021-12"]


def test_ledger_features_sum_12_and_3_complete_months_and_3t_counts(fsnap):
    from features.ledgers import ledger_features

    mm = _gap_rows(["2020-12", "2021-01", "2021-09", "2021-10"])

    def f(as_of):
        return ledger_features(mm, fsnap.ledgers, fsnap.electricity, fsnap.enterprises, as_of).loc["X1"]

    end = f("2021-12-31")  # months 2021-01..2021-12; the last three 2021-10..12
    assert end["unaccounted_t_365d"] == 3.0 and end["over_3t_365d"] == 1.0  # exactly 3 t is the line
    assert end["unaccounted_t_90d"] == 1.0
    assert end["unaccounted_t_365d@month"] in ("2021-01", "2021-09", "2021-10")
    mid = f("2021-12-30")  # December is not complete: months 2020-12..2021-11, last three 2021-09..11
    assert mid["unaccounted_t_365d"] == 4.0 and mid["unaccounted_t_90d"] == 2.0
    under = ledger_features(_gap_rows(["2021-01", "2021-09", "2021-10"], gap=1.49), fsnap.ledgers, fsnap.electricity,
                            fsnap.enterprises, "2021-12-31").loc["X1"]
    assert under["unaccounted_t_365d"] == pytest.approx(2.97) and under["over_3t_365d"] == 0.0


def test_the_action_plans_3t_rule_trips_at_exactly_3t():
    from models.baselines import RuleScorer

    X = pd.DataFrame({"unaccounted_t_365d": [2.999, 3.0, 3.001]})
    assert RuleScorer().fit(X).hits(X)["unaccounted_t_365d"].tolist() == [False, True, True]


def test_the_service_flags_exactly_3t_rows_and_enterprises(service):
    """The mismatch list's 3 t flags and filters, on rows stored with exactly 3.0 and 2.999 t."""
    from sqlalchemy import select, update

    from serving.db.models import Mismatch, ScoringRun

    with service.rt.db.write() as s:
        run = s.scalars(select(ScoringRun).where(ScoringRun.n_mismatch > 0)).one()
        rows = {(m.enterprise_id, m.month): m for m in s.scalars(select(Mismatch).where(Mismatch.run_id == run.id))}
        s.execute(update(Mismatch).where(Mismatch.run_id == run.id).values(unaccounted_t=0.0))
        rows[("E1", "2021-02")].unaccounted_t = 3.0
        rows[("E4", "2021-02")].unaccounted_t = 2.999
        rows[("E5", "2021-01")].unaccounted_t = 1.5
        rows[("E5", "2021-02")].unaccounted_t = 1.5
    items = service.get("env", "/v1/ledger-mismatch", params={"limit": 200}).json()["items"]
    by = {(i["enterprise_id"], i["month"]): i for i in items}
    assert by[("E1", "2021-02")]["over_3t"] and not by[("E4", "2021-02")]["over_3t"]
    assert by[("E5", "2021-01")]["enterprise_over_3t"] and by[("E5", "2021-01")]["enterprise_unaccounted_t_365d"] == 3.0
    assert not by[("E4", "2021-02")]["enterprise_over_3t"]
    row = service.get("env", "/v1/ledger-mismatch", params={"over_3t": "row"}).json()["items"]
    assert [(i["enterprise_id"], i["month"]) for i in row] == [("E1", "2021-02")]
    ent = service.get("env", "/v1/ledger-mismatch", params={"over_3t": "enterprise"}).json()["items"]
    assert {i["enterprise_id"] for i in ent} == {"E1", "E5"}


# ---- labels: (as_of, as_of + 180 days], what a fold may know, the truth's 365 days -------------------------------


CASES = pd.DataFrame({
    "case_id": ["A0", "A180", "A181", "B180", "T1", "T2", "T3"],
    "opened": pd.to_datetime(["2021-01-31", "2021-07-30", "2021-07-31", "2021-07-30", "2021-03-10", "2021-09-30",
                              "2021-10-01"]),
    "enterprise_id": ["A", "B", "C", "D", None, None, None],
    "tip_id": [None, None, None, None, "K1", "K2", "K3"],
    "outcome": ["confirmed", "confirmed", "confirmed", "open", "confirmed", "unfounded", "unfounded"],
})


def test_the_label_window_is_the_180_days_after_the_as_of_date():
    from training.labels import LABEL_DAYS, enterprise_labels, investigated

    assert LABEL_DAYS == 180
    assert T("2021-01-31") + pd.Timedelta(days=180) == T("2021-07-30")
    assert enterprise_labels(CASES, "2021-01-31").to_dict() == {"B": 1}  # not A (the as-of day), not C (day 181)
    assert set(investigated(CASES, "2021-01-31")) == {"B", "D"}  # D's open case is in the window too
    assert enterprise_labels(CASES, "2021-01-30").to_dict() == {"A": 1}  # A's day 1; B's day 181
    assert enterprise_labels(CASES, "2021-01-31", known_by="2021-07-29").empty  # B not yet known
    assert enterprise_labels(CASES, "2021-01-31", known_by="2021-07-30").to_dict() == {"B": 1}


def test_the_truth_looks_back_365_days():
    from training.labels import truth_enterprise_labels

    truth = {"behaviours": pd.DataFrame({"enterprise_id": ["A", "B"], "start": pd.to_datetime(["2019-01-01", "2019-01-01"]),
                                         "end": pd.to_datetime(["2020-12-31", "2020-12-30"])})}
    assert truth_enterprise_labels(truth, ["A", "B"], "2021-12-31").to_dict() == {"A": 1, "B": 0}  # 365 days back


def test_a_fold_learns_tip_labels_known_by_its_horizon_only():
    """Tips of the fit dates labelled by cases opened up to the horizon (the first test day, included):
    K1 confirmed, K2 unfounded on the horizon itself; K3's case opens the day after and must not count.
    The channel baseline scores a test tip with the labelled fit tips' mean: 1/2, not 1/3 or 1/1."""
    from training.config import TrainConfig
    from training.fit import FoldResult, _fit_tips
    from training.splits import TemporalSplit

    split = TemporalSplit("2021-01-31", "2021-02-28", "2021-02-28", "2021-09-30", "2021-12-31")
    assert split.label_horizon == T("2021-09-30")
    tips = pd.DataFrame({"as_of": [T("2021-02-28")] * 3 + [T("2021-10-31")], "tip_id": ["K1", "K2", "K3", "K9"],
                         "channel": "12369", "county": "临桂区"})
    dates = sorted(tips["as_of"].unique())
    result = FoldResult(split, pd.DataFrame(), pd.DataFrame())
    _fit_tips(result, split, tips, CASES, TrainConfig(tip_models=["channel"]), split.fit_dates(dates),
              split.calibration_dates(dates), split.test_dates(dates))
    assert result.tip_scores["channel"].tolist() == [0.5]
