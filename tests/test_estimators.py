"""The estimators honour scikit-learn's contract, and behave on small problems worked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from models import (
    AnomalyScorer,
    CalibratedLeadModel,
    LeadClassifier,
    LogisticBaseline,
    RandomScorer,
    RuleScorer,
)
from models.exploration import order_with_exploration
from models.propensity import PropensityWeights
from models.text import TipTextScorer

# Checks that ask for behaviour these estimators decline by design:
EXPECTED_FAILED = {
    "check_sample_weight_equivalence_on_dense_data": "LightGBM bins features: a weight of 2 is not two rows",
}
LOGISTIC_EXPECTED = {
    "check_sample_weight_equivalence_on_dense_data": "class_weight='balanced' reweights classes after sample weights",
}


def _expected(est):
    if isinstance(est, LeadClassifier):
        return EXPECTED_FAILED
    return LOGISTIC_EXPECTED if isinstance(est, LogisticBaseline) else {}


# RandomScorer is left out: scores that are random by design fail the invariance checks by design.
@parametrize_with_checks([LeadClassifier(n_estimators=5, min_child_samples=1), LogisticBaseline(),
                          AnomalyScorer(n_estimators=10)],
                         expected_failed_checks=_expected)
def test_sklearn_contract(estimator, check):
    check(estimator)


def _toy(seed):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"unaccounted_t_365d": rng.exponential(1.0, 400), "noise": rng.normal(size=400)})
    y = (X["unaccounted_t_365d"] + rng.normal(0, 0.3, 400) > 1.5).astype(int)
    return X, y


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lead_classifier_learns_the_signal_for_any_seed(seed):
    X, y = _toy(seed)
    model = LeadClassifier(n_estimators=50, random_state=seed).fit(X, y)
    p = model.predict_proba(X)[:, 1]
    assert np.corrcoef(p, X["unaccounted_t_365d"])[0, 1] > 0.6
    contrib = model.contributions(X)
    assert list(contrib.columns) == ["unaccounted_t_365d", "noise", "bias"]
    # contributions add up to the raw score
    np.testing.assert_allclose(contrib.sum(axis=1), model.decision_function(X), rtol=1e-6, atol=1e-6)
    assert contrib["unaccounted_t_365d"].abs().mean() > contrib["noise"].abs().mean()


def test_lambdarank_objective_orders_within_groups():
    X, y = _toy(3)
    groups = np.repeat(np.arange(4), 100)
    model = LeadClassifier(objective="lambdarank", n_estimators=30, min_child_samples=5).fit(X, y, groups=groups)
    p = model.predict_proba(X)[:, 1]
    assert p[y == 1].mean() > p[y == 0].mean()


def test_calibration_maps_to_observed_rates():
    X, y = _toy(4)
    base = LeadClassifier(n_estimators=30).fit(X.iloc[:200], y.iloc[:200])
    cal = CalibratedLeadModel(base).fit(X.iloc[200:], y.iloc[200:])
    p = cal.predict_proba(X.iloc[200:])[:, 1]
    assert abs(p.mean() - y.iloc[200:].mean()) < 0.05
    # monotone: the order of the base scores is kept
    b = base.predict_proba(X.iloc[200:])[:, 1]
    assert np.all(np.diff(p[np.argsort(b)]) >= -1e-12)


def test_rule_scorer_counts_rules():
    X = pd.DataFrame({"unaccounted_t_365d": [0.0, 5.0], "unlicensed_receiver_t_365d": [0.0, 2.0], "other": [1, 1]})
    rs = RuleScorer().fit(X)
    p = rs.predict_proba(X)[:, 1]
    assert p[0] == 0.0 and p[1] == pytest.approx(1.0)  # both present rules tripped, weights 3 + 3
    assert [r.feature for r in rs.rules_used_] == ["unaccounted_t_365d", "unlicensed_receiver_t_365d"]


def test_random_scorer_is_reproducible_and_checks_shapes():
    X = np.zeros((50, 2))
    a = RandomScorer(random_state=3).fit(X, np.arange(50) % 2).predict_proba(X)[:, 1]
    assert np.array_equal(a, RandomScorer(random_state=3).fit(X, np.arange(50) % 2).predict_proba(X)[:, 1])
    assert 0.3 < a.mean() < 0.7
    with pytest.raises(ValueError):
        RandomScorer().fit(X, np.arange(49) % 2)


def test_anomaly_scorer_finds_the_outlier():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    X[7] = [8, 8, 8]
    p = AnomalyScorer(n_estimators=100).fit(X).predict_proba(X)[:, 1]
    assert p.argmax() == 7 and p[7] == pytest.approx(1.0)


def test_propensity_weights_favour_the_rarely_investigated():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"key_discharge_unit": rng.integers(0, 2, 2000).astype(float)})
    investigated = rng.random(2000) < np.where(X["key_discharge_unit"] == 1, 0.4, 0.05)
    w = PropensityWeights().fit(X, investigated).weights(X)
    assert w[X["key_discharge_unit"].to_numpy() == 0].mean() > 2 * w[X["key_discharge_unit"].to_numpy() == 1].mean()
    assert w.mean() == pytest.approx(1.0)


def test_exploration_is_reproducible_and_probabilities_known():
    ids = pd.Series([f"E{i:03d}" for i in range(300)])
    scores = pd.Series(np.linspace(1, 0, 300))
    a = order_with_exploration(ids, scores, k=20, share=0.1, seed=42)
    b = order_with_exploration(ids, scores, k=20, share=0.1, seed=42)
    pd.testing.assert_frame_equal(a, b)
    top = a.head(20)
    assert top["exploration"].sum() == 2
    assert list(top["id"].head(18)) == list(ids.head(18))
    explored = top[top["exploration"]]
    assert np.allclose(explored["inclusion_prob"], 1 / 50)  # a 100-entry pool in 2 strata
    assert set(a["id"]) == set(ids) and list(a["rank"]) == list(range(1, 301))
    c = order_with_exploration(ids, scores, k=20, share=0.1, seed=43)
    assert list(c.head(18)["id"]) == list(a.head(18)["id"])
    assert order_with_exploration(ids, scores, k=20, share=0.0, seed=1)["exploration"].sum() == 0


def test_exploration_inclusion_frequency_matches_probability():
    ids = pd.Series([f"E{i:03d}" for i in range(100)])
    scores = pd.Series(np.linspace(1, 0, 100))
    counts = pd.Series(0.0, index=ids)
    for seed in range(2000):
        o = order_with_exploration(ids, scores, k=10, share=0.2, seed=seed)
        counts[o[o["exploration"]]["id"]] += 1
    o = order_with_exploration(ids, scores, k=10, share=0.2, seed=0)
    prob = o.set_index("id")["inclusion_prob"]
    pool = prob[prob < 1].index
    np.testing.assert_allclose(counts[pool] / 2000, prob[pool], atol=0.03)


def test_tip_text_scorer_learns_characters():
    texts = ["夜里往河里倒废油", "罐车半夜在溶洞边倒东西", "凌晨有车往江边倒黑水", "有车在水库边偷倒废液"] * 10 + \
            ["邻居吵架很吵", "楼下噪音扰民", "隔壁装修太吵了", "小区门口乱停车"] * 10
    y = [1] * 40 + [0] * 40
    m = TipTextScorer().fit(texts, y)
    p = m.predict_proba(["晚上有人往河边倒油", "邻居家噪音很大"])[:, 1]
    assert p[0] > 0.7 > 0.3 > p[1]
    assert any("倒" in g for g, _ in m.top_ngrams(10))


def test_matrix_coerces_every_column_to_float_and_text_to_missing():
    """The model matrix: the features asked for, in that order, as float64; a numeric column keeps its
    values (booleans 0/1, a nullable integer's missing value NaN), a text column is read as numbers
    where it holds one and missing elsewhere, an absent column is all missing."""
    from models.bundle import matrix

    frame = pd.DataFrame({
        "f": [0.5, np.nan, -2.0],
        "i": [1, 2, 3],
        "b": [True, False, True],
        "n": pd.array([4, None, 6], dtype="Int64"),
        "t": ["7", "x", None],
    })
    numeric = matrix(frame, ["i", "f", "b", "n", "absent"])
    expected = pd.DataFrame({"i": [1.0, 2.0, 3.0], "f": [0.5, np.nan, -2.0], "b": [1.0, 0.0, 1.0],
                             "n": [4.0, np.nan, 6.0], "absent": [np.nan] * 3})
    pd.testing.assert_frame_equal(numeric, expected, check_exact=True)
    with_text = matrix(frame, ["t", "i"])
    pd.testing.assert_frame_equal(with_text, pd.DataFrame({"t": [7.0, np.nan, np.nan], "i": [1.0, 2.0, 3.0]}),
                                  check_exact=True)


def test_anomaly_scorer_fit_predict_proba_is_fit_then_predict_proba():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(500, 4))
    X[::7, 1] = np.nan
    once = AnomalyScorer(n_estimators=25, random_state=2).fit_predict_proba(X)
    twice = AnomalyScorer(n_estimators=25, random_state=2).fit(X).predict_proba(X)
    np.testing.assert_array_equal(once, twice)
