"""Metrics at k worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.evaluate import bias_audit, evaluate, list_overlap, ndcg_at_k, precision_at_k, recall_at_k


def test_precision_and_recall_at_k():
    y = [1, 0, 1, 0, 0, 1]
    s = [0.9, 0.8, 0.7, 0.6, 0.5, 0.1]
    assert precision_at_k(y, s, 2) == 0.5
    assert precision_at_k(y, s, 3) == pytest.approx(2 / 3)
    assert recall_at_k(y, s, 3) == pytest.approx(2 / 3)
    assert precision_at_k(y, s, 50) == pytest.approx(0.5)  # fewer rows than k: all rows
    assert ndcg_at_k([1, 0], [0.9, 0.1], 2) == pytest.approx(1.0)
    assert ndcg_at_k([0, 1], [0.9, 0.1], 2) == pytest.approx(1 / np.log2(3))


def test_evaluate_separates_labels_and_truth():
    f = pd.DataFrame({
        "as_of": ["d1"] * 4 + ["d2"] * 4,
        "score": [0.9, 0.8, 0.2, 0.1, 0.9, 0.8, 0.2, 0.1],
        "label": [1, np.nan, 0, np.nan, np.nan, 0, np.nan, 1],
        "truth": [1, 1, 0, 0, 0, 0, 1, 1],
    })
    m = evaluate(f, ks=(1, 2))
    assert m["labels/precision@1"] == pytest.approx((1 + 0) / 2)
    assert m["truth/precision@2"] == pytest.approx((1 + 0) / 2)
    assert m["labels/brier"] == pytest.approx(((0.9 - 1) ** 2 + 0.2**2) / 2 / 2 + (0.8**2 + 0.9**2) / 2 / 2)


def test_overlap_and_bias_audit():
    f = pd.DataFrame({"as_of": ["a", "a", "b", "b"], "entity_id": ["x", "y", "x", "z"], "score": [0.9, 0.1, 0.9, 0.8],
                      "label": [1, np.nan, np.nan, np.nan], "truth": [1, 0, 1, 0], "county": ["c1", "c2", "c1", "c2"]})
    assert list_overlap(f, k=1) == 1.0
    assert list_overlap(f, k=2) == pytest.approx(1 / 3)
    audit = bias_audit(f, "county", k=1).set_index("county")
    assert audit.loc["c1", "investigated"] == 0.5 and audit.loc["c2", "investigated"] == 0.0
    assert audit.loc["c1", "violating"] == 1.0


def test_bias_audit_ranks_each_groups_labelled_rows():
    nan = np.nan
    f = pd.DataFrame({
        "as_of": ["a", "a", "a", "a", "b", "a", "a", "b", "b"],
        "county": ["c1", "c1", "c1", "c1", "c1", "c2", "c2", "c2", "c3"],
        "score": [0.95, 0.9, 0.8, 0.7, 0.4, 0.6, 0.5, 0.3, 0.2],
        "label": [nan, 0, 1, 1, 1, 0, 0, nan, nan],
    })
    audit = bias_audit(f, "county", k=2).set_index("county")
    # c1 on a: labelled 0.9→0, 0.8→1, 0.7→1 (the unlabelled 0.95 is not ranked): top 2 = [0, 1] → 1/2;
    #   AP = (1/2 + 2/3) / 2 = 7/12.  On b: one labelled row, k = min(2, 1) → 1/1; AP = 1.
    assert audit.loc["c1", "labels_n"] == 4
    assert audit.loc["c1", "labels_precision_at_k"] == pytest.approx((1 / 2 + 1) / 2)
    assert audit.loc["c1", "labels_ap"] == pytest.approx((7 / 12 + 1) / 2)
    # c2: two unfounded on a, none labelled on b → precision 0, no positive → AP NaN
    assert audit.loc["c2", "labels_n"] == 2 and audit.loc["c2", "labels_precision_at_k"] == 0.0
    assert np.isnan(audit.loc["c2", "labels_ap"])
    # c3: never investigated
    assert audit.loc["c3", "labels_n"] == 0 and np.isnan(audit.loc["c3", "labels_precision_at_k"])


def test_gate_metric_is_precision_at_k_with_ties_broken_by_average_precision():
    from training.pipeline import _gate_metric

    # a month with five concluded investigations and k = 20: every order has the same precision@20
    frame = pd.DataFrame({"as_of": pd.Timestamp("2023-06-30"), "label": [1.0, 1.0, 0.0, 0.0, 0.0] + [np.nan] * 30})
    fn = _gate_metric(20)(frame)
    good = np.r_[[0.9, 0.8, 0.3, 0.2, 0.1], np.linspace(0, 0.05, 30)]
    bad = np.r_[[0.1, 0.2, 0.9, 0.8, 0.7], np.linspace(0, 0.05, 30)]
    assert fn(good) > fn(bad)
    assert abs(fn(good) - fn(bad)) < 1e-5  # only the tie-break differs
    # with k = 2 precision decides, whatever the average precision
    fn2 = _gate_metric(2)(frame)
    assert fn2(good) == pytest.approx(1.0, abs=1e-5) and fn2(bad) == pytest.approx(0.0, abs=1e-5)
