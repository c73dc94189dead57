"""Labels follow the contract's §2 and splits never let a training label into the test period."""

from __future__ import annotations

import pandas as pd
import pytest

from training.config import SplitParams
from training.labels import (
    combine_cases,
    enterprise_labels,
    investigated,
    tip_labels,
    truth_enterprise_labels,
)
from training.pipeline import FALLBACK_WINDOWS
from training.splits import RollingSplitter, TemporalSplit, monthly_as_of_dates

CASES = pd.DataFrame({
    "case_id": ["C1", "C2", "C3", "C4", "C5", "C6"],
    "opened": pd.to_datetime(["2021-02-01", "2021-03-15", "2021-03-20", "2021-09-01", "2021-04-01", "2021-01-10"]),
    "enterprise_id": ["A", "B", "B", "A", "C", None],
    "tip_id": [None, "K1", None, None, "K2", "K3"],
    "outcome": ["confirmed", "unfounded", "confirmed", "unfounded", "open", "confirmed"],
    "violation": ["dumping_3t", None, "other", None, None, "water_dumping"],
    "tonnes": [5.0, None, 1.0, None, None, 2.0],
    "criminal": [True, None, False, None, None, False],
})


def test_window_is_after_as_of_and_180_days_long():
    lab = enterprise_labels(CASES, "2021-01-31")
    assert lab.to_dict() == {"A": 1, "B": 1}  # C4 (Sep 1) is 213 days later: outside the window
    assert enterprise_labels(CASES, "2021-02-01").to_dict() == {"B": 1}  # C1 opened on as_of: not after it
    assert enterprise_labels(CASES, "2021-03-16").to_dict() == {"A": 0, "B": 1}  # C2 out, C3 in; A unfounded


def test_open_cases_and_uninvestigated_are_unlabelled():
    lab = enterprise_labels(CASES, "2021-03-25")
    assert "C" not in lab.index  # open
    assert "D" not in lab.index  # never investigated: unlabelled, not negative
    assert "C" in investigated(CASES, "2021-03-25")


def test_known_by_truncates_labels():
    assert enterprise_labels(CASES, "2021-01-31", known_by="2021-03-16").to_dict() == {"A": 1, "B": 0}


def test_tip_labels():
    assert tip_labels(CASES).to_dict() == {"K1": 0, "K3": 1}
    assert tip_labels(CASES, known_by="2021-02-01").to_dict() == {"K3": 1}


def test_recorded_outcomes_join_the_cases():
    rec = pd.DataFrame({"case_id": ["S1", "C4"], "opened": ["2021-05-01", "2021-09-01"], "enterprise_id": ["D", "A"],
                        "tip_id": [None, None], "outcome": ["confirmed", "confirmed"]})
    all_cases = combine_cases(CASES, rec)
    assert enterprise_labels(all_cases, "2021-04-15").to_dict() == {"D": 1, "A": 1}
    assert len(all_cases) == len(CASES) + 1


def test_truth_labels_look_back_365_days():
    truth = {"behaviours": pd.DataFrame({"enterprise_id": ["A", "B"], "start": pd.to_datetime(["2020-01-01", "2021-06-01"]),
                                         "end": pd.to_datetime(["2020-03-01", "2021-07-01"])})}
    t = truth_enterprise_labels(truth, ["A", "B", "C"], "2021-02-15")
    assert t.to_dict() == {"A": 1, "B": 0, "C": 0}
    assert truth_enterprise_labels(truth, ["A", "B"], "2021-03-02").to_dict() == {"A": 0, "B": 0}


def test_split_refuses_training_labels_inside_test():
    with pytest.raises(ValueError, match="inside the test period"):
        TemporalSplit("2021-01-31", "2021-03-31", "2021-06-30", "2021-09-30", "2021-12-31")
    with pytest.raises(ValueError, match="after"):
        TemporalSplit("2021-05-31", "2021-03-31", "2021-03-31", "2022-01-31", "2022-02-28")


def test_rolling_folds_are_leak_free():
    dates = monthly_as_of_dates("2021-01-01", "2023-12-31")
    folds = RollingSplitter(n_folds=3).splits(dates, "2023-12-31")
    assert len(folds) == 3
    assert folds[0].test_end > folds[1].test_end > folds[2].test_end
    for f in folds:
        fit, cal, test = f.fit_dates(dates), f.calibration_dates(dates), f.test_dates(dates)
        assert fit and test
        assert max(fit) < min(cal) if cal else True
        # every training row's label window closes on or before the first test date
        last_train = max(fit + cal)
        assert last_train + pd.Timedelta(days=180) <= min(test)
        assert f.label_horizon <= min(test)


@pytest.mark.parametrize("windows", [{}, *FALLBACK_WINDOWS], ids=["default", "fallback1", "fallback2", "fallback3"])
def test_every_training_label_window_closes_by_the_horizon(windows):
    # in every window configuration the pipeline may use (the fallbacks serve short snapshots), a
    # training date's label window ends on or before the fold's label horizon (the first test day),
    # and labels computed with known_by equal those computed from the cases known at the horizon
    sp = SplitParams().model_copy(update=windows)
    dates = monthly_as_of_dates("2021-01-01", "2023-12-31", sp.min_history_days)
    folds = RollingSplitter(sp.n_folds, sp.test_days, sp.step_days, sp.calib_days, sp.label_days,
                            sp.min_label_days).splits(dates, "2023-12-31")
    assert folds
    rng = pd.date_range("2021-01-01", "2023-12-31", freq="3D")
    cases = pd.DataFrame({"case_id": [f"C{i}" for i in range(len(rng))], "opened": rng,
                          "enterprise_id": [f"E{i}" for i in range(len(rng))], "tip_id": None, "outcome": "confirmed"})
    for fold in folds:
        for d in fold.fit_dates(dates) + fold.calibration_dates(dates):
            assert d + pd.Timedelta(days=sp.label_days) <= fold.label_horizon, (fold.name, d)
            lab = enterprise_labels(cases, d, sp.label_days, known_by=fold.label_horizon)
            known = enterprise_labels(cases[cases["opened"] <= fold.label_horizon], d, sp.label_days)
            pd.testing.assert_series_equal(lab.sort_index(), known.sort_index())
