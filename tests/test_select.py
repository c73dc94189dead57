"""What goes into service: a learned recipe only where it beats the graded rules on the latest
fold, never a constant scorer; and a tip corroborated by a night stop outranks the same tip without."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import features.build  # noqa: F401  (registers every feature in the catalogue)
from models.bundle import EnterpriseLeadModel, TipLeadModel
from models.fallback import RuleLeadModel
from models.lgbm import LeadClassifier
from training.config import TrainConfig
from training.fit import FoldResult
from training.select import choose_enterprise, choose_tip, fold_metrics, is_constant
from training.splits import HoldoutSplit

FEATS = ["unaccounted_t_365d", "night_stops_near_water_90d", "employees_log"]
DATES = pd.to_datetime(["2022-01-31", "2022-02-28", "2022-03-31"])


def enterprise_rows(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for d in DATES:
        for i in range(120):
            rows.append({"as_of": d, "enterprise_id": f"E{i:03d}", "county": "临桂区", "industry_group": "chemical",
                         "unaccounted_t_365d": float(rng.uniform(0, 8)), "night_stops_near_water_90d": float(rng.poisson(0.5)),
                         "employees_log": float(rng.normal(3, 1))})
    return pd.DataFrame(rows)


def fold(rows: pd.DataFrame, learned: np.ndarray, rules: np.ndarray, label: np.ndarray, model) -> FoldResult:
    split = HoldoutSplit("2021-06-30", "2021-11-30", "2021-12-31", "2022-03-31")
    scores = pd.DataFrame({"as_of": rows["as_of"], "entity_id": rows["enterprise_id"], "label": label,
                           "county": "临桂区", "industry_group": "chemical", "lgbm": learned, "rules_graded": rules})
    return FoldResult(split, scores, pd.DataFrame(), model, None, rows.assign(label=label), pd.DataFrame())


@pytest.fixture(scope="module")
def data():
    rows = enterprise_rows()
    y = (rows["unaccounted_t_365d"] > 5).astype(float).to_numpy()
    label = np.where(np.arange(len(rows)) % 3 == 0, y, np.nan)  # a third investigated
    model = EnterpriseLeadModel(FEATS, LeadClassifier(n_estimators=30, min_child_samples=5), rules=True, anomaly=True,
                                rule_blend=1 / 3, linear_blend=1 / 3, graded_rules=True)
    lab = ~np.isnan(label)
    model.fit(rows[lab], label[lab].astype(int), population=rows)
    return rows, y, label, model


CONFIG = TrainConfig(refit=False)


def test_a_learned_recipe_below_the_graded_rules_on_the_fold_is_not_served(data):
    rows, y, label, model = data
    good, bad = y + 0.01 * np.arange(len(y)) / len(y), 1 - y
    choice = choose_enterprise(fold(rows, bad, good, label, model), rows, pd.DataFrame(), DATES[-1], CONFIG)
    assert choice.source == "rules" and isinstance(choice.model, RuleLeadModel)
    assert choice.comparisons["lgbm"] < choice.comparisons["rules_graded"]
    assert "does not beat the graded rules" in choice.reason
    # the rules served are calibrated on the fold's labels: a probability that rises with the rules
    p = choice.model.predict_proba(rows)[:, 1]
    assert p.min() >= 0 and p.max() <= 1 and np.corrcoef(p, rows["unaccounted_t_365d"])[0, 1] > 0.5


def test_a_learned_recipe_above_them_is_served(data):
    rows, y, label, model = data
    good, worse = y + 0.01 * np.arange(len(y)) / len(y), 0.3 * y + np.random.default_rng(1).random(len(y))
    choice = choose_enterprise(fold(rows, good, worse, label, model), rows, pd.DataFrame(), DATES[-1], CONFIG)
    assert choice.source == "learned" and choice.model is model
    # an equal score is not a win: the rules are kept
    tie = choose_enterprise(fold(rows, good, good, label, model), rows, pd.DataFrame(), DATES[-1], CONFIG)
    assert tie.source == "rules"


def test_without_the_gate_or_without_a_learned_model(data):
    rows, y, label, model = data
    no_gate = choose_enterprise(fold(rows, 1 - y, y, label, model), rows, pd.DataFrame(), DATES[-1], CONFIG.model_copy(update={"gate_rules": False}))
    assert no_gate.source == "learned"
    none = choose_enterprise(fold(rows, 1 - y, y, label, None), rows, pd.DataFrame(), DATES[-1], CONFIG)
    assert none.source == "rules" and "too few labels" in none.reason


def test_a_constant_scorer_is_never_chosen(data):
    rows, y, label, model = data

    class Constant(EnterpriseLeadModel):
        def predict_proba(self, X):
            return np.column_stack([np.full(len(X), 0.7), np.full(len(X), 0.3)])

    const = Constant()
    const.__dict__.update(model.__dict__)
    choice = choose_enterprise(fold(rows, y + 0.01 * np.arange(len(y)) / len(y), 0.3 * y + np.random.default_rng(1).random(len(y)), label, const),
                               rows, pd.DataFrame(), DATES[-1], CONFIG)
    assert choice.source == "rules" and "one score" in choice.reason
    assert is_constant(np.full(500, 0.2)) and is_constant(np.r_[np.full(499, 0.2), 0.3])
    assert not is_constant(np.linspace(0, 1, 500))


def test_fold_metrics_average_precision_per_date(data):
    rows, y, label, _ = data
    scores = pd.DataFrame({"as_of": rows["as_of"], "entity_id": rows["enterprise_id"], "label": label, "perfect": y, "reversed": 1 - y})
    m = fold_metrics(scores, 20)
    assert m["perfect"]["ap"] == pytest.approx(1.0) and m["reversed"]["ap"] < 0.5


def tips_frame(n: int = 300, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    stops = rng.poisson(0.8, n).astype(float)
    night = np.minimum(stops, rng.poisson(0.4, n)).astype(float)
    t = pd.DataFrame({
        "tip_id": [f"T{i:04d}" for i in range(n)], "as_of": DATES[-1], "channel": "12369",
        "text": ["河边有车倒东西" if i % 2 else "有股臭味" for i in range(n)],
        "tip_stops_nearby_14d": stops, "tip_night_stops_nearby_14d": night, "tip_channel_informant": 0.0,
        "tip_similar_14d": rng.poisson(0.3, n).astype(float), "tip_text_length": rng.integers(10, 80, n).astype(float),
    })
    y = ((night > 0) & (rng.random(n) < 0.7) | (rng.random(n) < 0.1)).astype(int)
    return t, y


def test_a_tip_with_a_nearby_night_stop_outranks_the_same_tip_without_one():
    t, y = tips_frame()
    feats = ["tip_stops_nearby_14d", "tip_night_stops_nearby_14d", "tip_channel_informant", "tip_similar_14d", "tip_text_length"]
    model = TipLeadModel(feats, LeadClassifier(n_estimators=40, min_child_samples=5), tip_rules=True, learned_kappa=30.0,
                         monotone=True).fit(t, y, population=t)
    base = t.iloc[[0]].assign(tip_stops_nearby_14d=1.0, tip_night_stops_nearby_14d=0.0)
    night = base.assign(tip_night_stops_nearby_14d=1.0)
    assert model.predict_proba(night)[0, 1] > model.predict_proba(base)[0, 1]
    assert 0 < model.blend_weights_["rules"] < 1


def test_the_tip_choice_falls_back_to_the_corroboration_rules():
    t, y = tips_frame()
    split = HoldoutSplit("2021-06-30", "2021-11-30", "2021-12-31", "2022-03-31")
    scores = pd.DataFrame({"as_of": t["as_of"], "entity_id": t["tip_id"], "label": y.astype(float), "county": "",
                           "lgbm": 1.0 - y, "rules": y + np.linspace(0, 0.01, len(y))})
    latest = FoldResult(split, pd.DataFrame(), scores, None, object(), pd.DataFrame(), t.assign(label=y.astype(float)))
    choice = choose_tip(latest, t, pd.DataFrame(), DATES[-1], CONFIG)
    assert choice.source == "rules" and isinstance(choice.model, RuleLeadModel)
    assert not is_constant(choice.model.predict_proba(t)[:, 1])


def test_unlabelled_rows_enter_only_as_the_configured_strategy_says(data):
    from training.fit import training_rows

    rows, y, label, _ = data
    fit = rows.assign(label=label, investigated=(~np.isnan(label)).astype(int))
    n_lab, n_unl = int((~np.isnan(label)).sum()), int(np.isnan(label).sum())
    fl, yy, w = training_rows(fit, TrainConfig())
    assert len(fl) == n_lab and w is None
    pu, ypu, wpu = training_rows(fit, TrainConfig(selective_labels="unlabelled_negative", unlabelled_weight=0.05))
    assert len(pu) == n_lab + n_unl and ypu[n_lab:].sum() == 0 and np.allclose(wpu[n_lab:], 0.05)
    weak, yw, ww = training_rows(fit, TrainConfig(selective_labels="weak_labels", unlabelled_weight=0.05))
    assert len(weak) == n_lab + 2 * n_unl
    q_pos, q_neg = ww[n_lab:n_lab + n_unl], ww[n_lab + n_unl:]
    assert np.allclose(q_pos + q_neg, 0.05) and yw[n_lab:n_lab + n_unl].all() and not yw[n_lab + n_unl:].any()
    # the rules' probability orders the weak positives: more unaccounted tonnes, more weight as a positive
    unl = fit[np.isnan(label)]
    assert np.corrcoef(q_pos, unl["unaccounted_t_365d"])[0, 1] > 0.3
    # weak positives are not counted as labels for the learned share of the blend
    model = EnterpriseLeadModel(FEATS, LeadClassifier(n_estimators=10, min_child_samples=5), rules=True, rule_blend=1 / 3,
                                linear_blend=1 / 3, learned_kappa=100.0)
    model.fit(weak, yw, sample_weight=ww, population=fit)
    true_pos = fit.loc[fit["label"] == 1, "enterprise_id"].nunique()
    assert model.learned_share_ == pytest.approx(true_pos / (true_pos + 100.0))
