"""Reasons come from every part of the score, name values and the evidence row, and the
weak-signal sentence appears only where no feature is past its threshold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import features.build  # noqa: F401  (registers every feature in the catalogue)
from models.baselines import ACTION_PLAN_RULES, RuleScorer
from models.bundle import EnterpriseLeadModel
from models.explain import WEAK, expand_rules, render_reasons, worth_saying
from models.fallback import RuleLeadModel
from models.lgbm import LeadClassifier

FEATURES = ["unaccounted_t_365d", "night_stops_near_water_90d", "night_share_excess_90d", "employees_log"]


def frame(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    f = pd.DataFrame({
        "enterprise_id": [f"E{i:04d}" for i in range(n)],
        "unaccounted_t_365d": np.where(rng.random(n) < 0.15, rng.uniform(3, 30, n), rng.uniform(0, 0.4, n)),
        "night_stops_near_water_90d": rng.poisson(0.2, n).astype(float),
        "night_share_excess_90d": rng.normal(0, 0.05, n),
        "employees_log": rng.normal(3, 1, n),
    }, index=[f"E{i:04d}" for i in range(n)])
    f["unaccounted_t_365d@month"] = "2021-03"
    f["unaccounted_t_365d@waste_code"] = "900-249-08"
    y = ((f["unaccounted_t_365d"] > 3) & (rng.random(n) < 0.8) | (f["night_stops_near_water_90d"] > 0) & (rng.random(n) < 0.6))
    return f, y.astype(int).to_numpy()


@pytest.fixture(scope="module")
def fitted():
    X, y = frame()
    model = EnterpriseLeadModel(FEATURES, LeadClassifier(n_estimators=40, min_child_samples=5), anomaly=True, rules=True,
                                monotone=True, rule_blend=1 / 3, linear_blend=1 / 3, graded_rules=True)
    return X, model.fit(X, y, population=X)


def test_a_rule_tripped_is_said_with_its_tonnes_and_the_month_and_code_behind_it(fitted):
    X, model = fitted
    one = X.iloc[:0].copy()
    one.loc["Z1"] = X.iloc[0]
    one.loc["Z1", ["unaccounted_t_365d", "night_stops_near_water_90d", "night_share_excess_90d"]] = [12.4, 0.0, 0.0]
    zh, en = model.explain(one)
    assert any("12.4 吨" in r and "2021-03 900-249-08" in r for r in zh[0]), zh
    assert any("12.4 t" in r for r in en[0]), en
    assert "触发多项专项行动规则" not in " ".join(zh[0])  # the rule score is handed on to its rules


def test_every_part_of_the_blend_contributes(fitted):
    X, model = fitted
    c = model.contributions(X.head(50))
    assert (c.drop(columns="bias").to_numpy() >= 0).all()
    # a row's contributions add up to its blended percentile (the rule share passed on, not lost)
    blend = model.model_.base
    total = c.drop(columns="bias").sum(axis=1).to_numpy()
    pct = blend.predict_proba(model._with_anomaly(X.head(50))[model.features_])[:, 1]
    assert np.corrcoef(total, pct)[0, 1] > 0.9


def test_nothing_past_a_threshold_says_so_and_a_threshold_the_model_ignored_is_still_said(fitted):
    X, model = fitted
    quiet = X.iloc[:2].copy()
    quiet.index = ["Q1", "Q2"]
    quiet[["unaccounted_t_365d", "night_stops_near_water_90d", "night_share_excess_90d"]] = 0.0
    quiet.loc["Q2", "night_share_excess_90d"] = 0.4  # past its 0.1 threshold
    zh, _ = model.explain(quiet)
    assert zh[0] == [WEAK["zh"]]
    assert zh[1] != [WEAK["zh"]] and any("夜间用电" in r for r in zh[1])


def test_the_rules_served_alone_give_values_not_only_rule_names():
    X, _ = frame()
    rules = RuleLeadModel(ACTION_PLAN_RULES, anomaly_weight=0.0, graded=True).fit(X)
    one = X.head(1).copy()
    one[["unaccounted_t_365d", "night_stops_near_water_90d"]] = [7.25, 3.0]
    zh, en = rules.explain(one)
    assert any("7.2 吨" in r or "7.3 吨" in r for r in zh[0]), zh
    assert len(zh[0]) == 2 and len(en[0]) == 2


def test_expand_rules_splits_the_rule_share_by_the_rules_tripped():
    X = pd.DataFrame({"unaccounted_t_365d": [5.0, 1.5], "night_stops_near_water_90d": [2.0, 0.0]}, index=["A", "B"])
    scorer = RuleScorer(ACTION_PLAN_RULES).fit(X)
    c = pd.DataFrame({"rule_score": [0.5, 0.2], "bias": 0.0}, index=X.index)
    out = expand_rules(c, X, scorer)
    # A trips unaccounted (weight 3) and night stops (weight 2): 0.5 split 3:2
    assert out.at["A", "unaccounted_t_365d"] == pytest.approx(0.3)
    assert out.at["A", "night_stops_near_water_90d"] == pytest.approx(0.2)
    assert out.at["A", "rule_score"] == 0.0
    # B trips nothing: its share goes to the feature that went toward its threshold
    assert out.at["B", "unaccounted_t_365d"] == pytest.approx(0.2)


def test_worth_saying_follows_the_catalogues_direction_and_threshold():
    assert worth_saying("unaccounted_t_365d", 0.5) and not worth_saying("unaccounted_t_365d", 0.49)
    assert worth_saying("intensity_vs_peers_365d", 0.6) and not worth_saying("intensity_vs_peers_365d", 0.61)
    assert not worth_saying("employees_log", 9.0)  # a profile fact, not evidence
    assert render_reasons(pd.DataFrame({"bias": [0.0]}, index=["A"]), pd.DataFrame(index=["A"]), "en") == [[WEAK["en"]]]


def test_when_the_rule_score_carries_the_blend_its_rules_are_said_first():
    X, y = frame(seed=1)
    model = EnterpriseLeadModel(FEATURES, LeadClassifier(n_estimators=20, min_child_samples=5), anomaly=True, rules=True,
                                monotone=True, rule_blend=1 / 3, linear_blend=1 / 3, graded_rules=True, learned_kappa=1e6)
    model.fit(X, y, population=X)
    assert model.blend_weights_["rules"] > 0.999
    one = X.head(1).copy()
    one[["unaccounted_t_365d", "night_stops_near_water_90d", "night_share_excess_90d"]] = [0.2, 1.0, 0.0]
    one["late_confirmation_share_365d"] = 0.95  # far past its threshold, but in no rule and not in the model
    zh, _ = model.explain(one)
    assert "水" in zh[0][0] and len(zh[0]) == 1, zh  # the one rule tripped, and only what the score rests on
