"""The learned score blended with the rule score: batch-independent, and the weight does what it says."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from models import LeadClassifier
from models.baselines import LogisticBaseline
from models.blend import PercentileBlend


def _population(seed: int = 0, n: int = 600):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"signal": rng.normal(size=n), "noise": rng.normal(size=n),
                      "rule_score": rng.choice([0.0, 0.0, 0.0, 0.1, 0.3, 0.6], size=n)})
    y = pd.Series((X["signal"] + 0.5 * rng.normal(size=n) > 1.0).astype(int))
    base = LeadClassifier(n_estimators=40, random_state=seed).fit(X, y)
    return X, y, base


def test_one_row_scores_as_it_does_in_a_list():
    X, _, base = _population()
    blend = PercentileBlend(base, rule_weight=0.5).fit(X)
    together = blend.predict_proba(X.iloc[:50])[:, 1]
    alone = np.array([blend.predict_proba(X.iloc[[i]])[0, 1] for i in range(50)])
    np.testing.assert_allclose(alone, together)


def test_weight_moves_the_order_from_the_learned_score_to_the_rules():
    X, _, base = _population(1)
    learned = base.predict_proba(X)[:, 1]
    p0 = PercentileBlend(base, rule_weight=0.0).fit(X).predict_proba(X)[:, 1]
    p1 = PercentileBlend(base, rule_weight=1.0).fit(X).predict_proba(X)[:, 1]
    p5 = PercentileBlend(base, rule_weight=0.5).fit(X).predict_proba(X)[:, 1]
    assert spearmanr(p0, learned).statistic > 0.999  # weight 0: the booster's order
    # weight 1: the rules' order, ties broken by the booster
    order = np.lexsort((learned, X["rule_score"].to_numpy()))
    assert np.all(np.diff(p1[order]) >= 0)
    r_learned, r_rules = spearmanr(p5, learned).statistic, spearmanr(p5, X["rule_score"]).statistic
    assert 0.3 < r_learned < 0.99 and 0.3 < r_rules < 0.99
    assert ((p5 >= 0) & (p5 <= 1)).all()


def test_weight_outside_zero_one_is_refused():
    X, _, base = _population(2)
    with pytest.raises(ValueError, match="weights"):
        PercentileBlend(base, rule_weight=1.5).fit(X)
    with pytest.raises(ValueError, match="weights"):
        PercentileBlend(base, LogisticBaseline().fit(X, base.predict(X)), rule_weight=0.6, linear_weight=0.6).fit(X)
    with pytest.raises(ValueError, match="linear model"):
        PercentileBlend(base, None, rule_weight=0.2, linear_weight=0.2).fit(X)


def test_three_way_blend_sits_between_its_parts():
    X, y, base = _population(4)
    linear = LogisticBaseline().fit(X, y)
    p = PercentileBlend(base, linear, rule_weight=1 / 3, linear_weight=1 / 3).fit(X).predict_proba(X)[:, 1]
    for part in (base.predict_proba(X)[:, 1], linear.predict_proba(X)[:, 1], X["rule_score"].to_numpy()):
        assert 0.3 < spearmanr(p, part).statistic < 0.99
    alone = np.array([PercentileBlend(base, linear, rule_weight=1 / 3, linear_weight=1 / 3).fit(X).predict_proba(X.iloc[[i]])[0, 1]
                      for i in range(20)])
    np.testing.assert_allclose(alone, p[:20])
    from training.config import TrainConfig

    with pytest.raises(ValueError, match="at most 1"):
        TrainConfig(rule_blend=0.7, linear_blend=0.5)
    with pytest.raises(ValueError, match="needs rule_feature"):
        TrainConfig(rule_feature=False, rule_blend=0.3)


def test_lead_model_with_a_blend_keeps_reasons_and_importances():
    from models.bundle import EnterpriseLeadModel

    rng = np.random.default_rng(3)
    n = 400
    X = pd.DataFrame({"unaccounted_t_365d": rng.exponential(2, n), "night_share_excess_90d": rng.random(n) * 0.4,
                      "manifests_365d": rng.poisson(5, n).astype(float)})
    y = (X["unaccounted_t_365d"] + rng.normal(size=n) > 4).astype(int).to_numpy()
    plain = EnterpriseLeadModel(base=LeadClassifier(n_estimators=30), rules=True).fit(X, y)
    blended = EnterpriseLeadModel(base=LeadClassifier(n_estimators=30), rules=True, rule_blend=1 / 3, linear_blend=1 / 3).fit(X, y)
    assert "rule_score" in blended.features_
    pb, pp = blended.predict_proba(X)[:, 1], plain.predict_proba(X)[:, 1]
    assert not np.allclose(pb, pp)
    np.testing.assert_allclose(blended.importances().sort_index(), plain.importances().sort_index())
    zh, en = blended.explain(X.iloc[:5])
    assert len(zh) == len(en) == 5


@pytest.mark.parametrize("with_population", [True, False])
def test_the_blend_ranks_against_the_population_as_the_model_scores_it(with_population):
    # the population's anomaly scores come from fitting the forest on it, not from scoring it again:
    # the blend's reference distributions are those of the population scored as any rows are scored
    from models.bundle import EnterpriseLeadModel, matrix

    rng = np.random.default_rng(8)
    n = 600
    pop = pd.DataFrame({"unaccounted_t_365d": rng.exponential(2, n), "night_share_excess_90d": rng.random(n) * 0.4,
                        "manifests_365d": rng.poisson(5, n).astype(float)})
    labelled = pop.sample(200, random_state=1)  # the investigated few, in another order
    y = (labelled["unaccounted_t_365d"] + rng.normal(size=len(labelled)) > 3).astype(int).to_numpy()
    model = EnterpriseLeadModel(base=LeadClassifier(n_estimators=30), rules=True, anomaly=True, rule_blend=1 / 3,
                                linear_blend=1 / 3)
    model.fit(labelled, y, population=pop if with_population else None)
    blend = model.model_.base
    scored = model._with_anomaly(pop if with_population else labelled)  # the anomaly score by the fitted forest
    for name, values in blend._components(matrix(scored, model.features_)).items():
        np.testing.assert_array_equal(blend.references_[name], np.sort(values), err_msg=name)
    assert {"base", "linear", "rules"} <= set(blend.references_)
