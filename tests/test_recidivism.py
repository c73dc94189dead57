"""Confirmed cases of the last 12 months: the window's boundary and nothing after the as-of date."""

from __future__ import annotations

import pandas as pd

from features.network import case_features

ENT = pd.DataFrame({"enterprise_id": ["A", "B", "C"]})


def cases(*rows):
    return pd.DataFrame([{"case_id": f"C{i}", "opened": pd.Timestamp(d), "enterprise_id": e, "outcome": o}
                         for i, (d, e, o) in enumerate(rows)])


def test_a_confirmed_case_counts_for_365_days_and_only_once_known():
    c = cases(("2021-01-01", "A", "confirmed"),  # 365 days before 2022-01-01: out
              ("2021-01-02", "B", "confirmed"),  # 364 days: in
              ("2021-12-01", "C", "unfounded"),
              ("2022-01-02", "C", "confirmed"))  # after the as-of date
    f = case_features(c, ENT, "2022-01-01")
    assert f["confirmed_cases_365d"].to_dict() == {"A": 0.0, "B": 1.0, "C": 0.0}
    assert f.loc["B", "confirmed_cases_365d@opened"] == pd.Timestamp("2021-01-02")
    assert f.loc["A", "prior_confirmed_cases"] == 1.0  # still a past case, no longer a recent one
    assert case_features(c, ENT, "2022-01-02").loc["C", "confirmed_cases_365d"] == 1.0
