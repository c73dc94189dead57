"""training.report: the precision@k curve the run logs as a plot is what ``nlargest`` per date gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.report import precision_curve


def _reference(frame: pd.DataFrame, model: str, target: str, ks: list[int]) -> list[float]:
    """The code before: ``nlargest`` for every k and date."""
    vals = []
    for k in ks:
        per = []
        for _, g in frame.groupby("as_of"):
            g = g[g[target].notna()]
            if len(g):
                per.append(g.nlargest(k, model)[target].mean())
        vals.append(np.mean(per) if per else np.nan)
    return vals


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_curve_is_nlargest_per_date_with_ties_missing_scores_and_short_dates(seed):
    rng = np.random.default_rng(seed)
    n = 400
    frame = pd.DataFrame({
        "as_of": rng.choice(pd.to_datetime(["2021-01-31", "2021-02-28", "2021-03-31"]), n),
        "score": np.round(rng.random(n), 1),  # ten values: many ties, broken by row order
        "label": rng.choice([0.0, 1.0, np.nan], n, p=[0.6, 0.3, 0.1]),
    })
    frame.loc[rng.choice(n, 40, replace=False), "score"] = np.nan
    short = pd.DataFrame({"as_of": pd.Timestamp("2021-04-30"), "score": [0.5, 0.5, np.nan], "label": [1.0, 0.0, 1.0]})
    frame = pd.concat([frame, short], ignore_index=True)  # a date with fewer scored rows than k
    ks = [1, 2, 3, 5, 10, 50, 200]
    np.testing.assert_allclose(precision_curve(frame, "score", "label", ks), _reference(frame, "score", "label", ks),
                               rtol=0, atol=1e-12)


def test_no_target_gives_missing_values():
    frame = pd.DataFrame({"as_of": pd.Timestamp("2021-01-31"), "score": [0.2, 0.4], "label": [np.nan, np.nan]})
    assert np.isnan(precision_curve(frame, "score", "label", [1, 5])).all()
