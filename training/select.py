"""What goes into service: the learned recipe, refitted on every label known at the as-of date, or
the graded rules (the action plan's and an officer's: ``models.baselines.LEAD_RULES``) when the
learned recipe did not beat them on the latest fold.

The folds evaluate a *recipe*; the model served is the recipe fitted again on all the labels
known at T (with two years of history the latest fold's own model would have learned from the
first half only). The choice is made on the latest fold's labelled test rows, which neither the
fold's model nor the rules saw: mean average precision per test date, the learned recipe against
the graded rule score (and the anomaly score and random). On randomised cities this choice
keeps the list above the action plan's rules where labels mislead (experiments/RESULTS.md).

Whatever is chosen is calibrated on those same test rows (out of sample for both): the score
served is a probability. A scorer that gives (nearly) one value to every entity is never chosen.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from models.baselines import TIP_RULES
from models.calibration import CalibratedLeadModel
from models.fallback import RuleLeadModel
from training.config import TrainConfig
from training.evaluate import ap, precision_at_k
from training.fit import FoldResult, label_rows, label_tips, served_rules, training_rows

MIN_DISTINCT_SHARE = 0.02  # a list whose scores take fewer distinct values than this share of rows is constant


@dataclass
class Choice:
    kind: str  # enterprise or tip
    model: object | None  # what is registered (None: nothing to register)
    source: str  # "learned" or "rules"
    reason: str
    comparisons: dict[str, float] = field(default_factory=dict)  # labelled AP on the latest fold, per scorer
    rows: pd.DataFrame = field(default_factory=pd.DataFrame)  # rows the registry checks the model on


def fold_metrics(scores: pd.DataFrame, k: int) -> dict[str, dict[str, float]]:
    """Per scorer column of a fold's score frame: labelled AP and precision@k, mean over test dates."""
    base = {"as_of", "entity_id", "label", "truth", "county", "industry_group"}
    lab = scores[scores["label"].notna()]
    out = {}
    for col in [c for c in scores.columns if c not in base]:
        by_date = [g for _, g in lab.groupby("as_of")]
        aps = [ap(g["label"], g[col]) for g in by_date if g["label"].nunique() == 2]
        pk = [precision_at_k(g["label"], g[col], k) for g in by_date if len(g)]
        out[col] = {"ap": float(np.mean(aps)) if aps else float("nan"), f"precision@{k}": float(np.mean(pk)) if pk else float("nan")}
    return out


def is_constant(scores: np.ndarray) -> bool:
    scores = np.asarray(scores, dtype=float)
    if len(scores) < 2:
        return False
    distinct = len(np.unique(np.round(scores[np.isfinite(scores)], 9)))
    return distinct < max(3, MIN_DISTINCT_SHARE * len(scores)) or float(np.nanstd(scores)) < 1e-9


def _refit_dates(frame: pd.DataFrame, as_of: pd.Timestamp, min_label_days: int, every: int) -> list:
    dates = sorted(d for d in frame["as_of"].unique() if d <= as_of - pd.Timedelta(days=min_label_days))
    return dates[::-1][::every][::-1]


def _calibrate_like(model, fold_model, rows: pd.DataFrame, y: np.ndarray) -> None:
    """Give ``model`` (a refitted blend) the calibration map of ``fold_model``'s scores fitted on
    ``rows`` (the fold's test rows: out of sample for the fold's model). Both score by percentile
    against their own fitting population, so one map serves both."""
    if len(np.unique(y)) < 2:
        return
    cal = CalibratedLeadModel(fold_model.model_.base, model.model_.method)
    cal.fit(_model_matrix(fold_model, rows), y)
    model.model_.map_ = cal.map_


def _model_matrix(model, rows: pd.DataFrame) -> pd.DataFrame:
    from models.bundle import matrix

    frame = model._frame(rows) if hasattr(model, "_frame") else model._with_anomaly(rows)
    return matrix(frame, model.features_)


def _rules_or_gate(kind: str, rules: RuleLeadModel, scores, test: pd.DataFrame, population: pd.DataFrame,
                   fold_model, rules_key: str, config: TrainConfig, what: str, rules_name: str
                   ) -> tuple[Choice, Choice | None, float, float]:
    """The rules' choice (calibrated on the fold's labels) and, where the learned recipe must not be
    served (no fold model, or it does not beat the rules on the latest fold), that choice with its
    reason as the answer; else None and the two labelled APs the learned choice will quote."""
    metrics = fold_metrics(scores, config.k) if scores is not None and len(scores) else {}
    comparisons = {name: m["ap"] for name, m in metrics.items()}
    lab = test[test["label"].notna()] if len(test) and "label" in test else test
    if len(lab):
        rules.calibrate(lab, lab["label"].astype(int))
    rule_choice = Choice(kind, rules, "rules", "", comparisons, test if len(test) else population)
    learned_ap, rules_ap = comparisons.get("lgbm", np.nan), comparisons.get(rules_key, np.nan)
    if fold_model is None or "lgbm" not in comparisons:
        rule_choice.reason = f"too few {what}labels for a learned model: the {rules_name} are served"
        return rule_choice, rule_choice, learned_ap, rules_ap
    if config.gate_rules and not (np.isfinite(learned_ap) and np.isfinite(rules_ap) and learned_ap > rules_ap):
        rule_choice.reason = (f"the learned {what}recipe does not beat the {rules_name} on the latest fold "
                              f"(labelled AP {learned_ap:.3f} vs {rules_ap:.3f}): the rules are served")
        return rule_choice, rule_choice, learned_ap, rules_ap
    return rule_choice, None, learned_ap, rules_ap


def choose_enterprise(latest: FoldResult, enterprise: pd.DataFrame, cases: pd.DataFrame, as_of: pd.Timestamp,
                      config: TrainConfig, engine: str = "pandas") -> Choice:
    """The enterprise model to register (see the module's docstring)."""
    from training.fit import enterprise_feature_names, lgbm_base

    test = latest.test_enterprise_rows
    lab = test[test["label"].notna()] if len(test) and "label" in test else test
    population = enterprise[enterprise["as_of"] == enterprise["as_of"].max()]
    rules = RuleLeadModel(served_rules(config), anomaly_weight=0.0, graded=True).fit(population)
    fold_model = latest.enterprise_model
    rule_choice, answer, learned_ap, rules_ap = _rules_or_gate("enterprise", rules, latest.enterprise_scores, test, population,
                                                               fold_model, "rules_graded", config, "", "graded rules")
    if answer is not None:
        return answer
    comparisons = rule_choice.comparisons
    model = fold_model
    if config.refit:
        fit = label_rows(enterprise[enterprise["as_of"].isin(_refit_dates(enterprise, as_of, config.splits.min_label_days,
                                                                           config.splits.fit_every_months))],
                         cases, config.splits.label_days, known_by=as_of)
        fl, y, weights = training_rows(fit, config)
        if len(np.unique(y)) == 2:
            from models.bundle import EnterpriseLeadModel

            model = EnterpriseLeadModel(enterprise_feature_names(enterprise), lgbm_base(config, engine), config.calibration,
                                        anomaly=config.anomaly_feature, rules=config.rule_feature, monotone=config.monotone,
                                        rule_blend=config.rule_blend, linear_blend=config.linear_blend,
                                        graded_rules=config.graded_rules, learned_kappa=config.learned_kappa,
                                        rule_set=served_rules(config))
            model.fit(fl, y, sample_weight=weights, groups=fl["as_of"].to_numpy(), population=fit)
            if len(lab):
                _calibrate_like(model, fold_model, lab, lab["label"].astype(int).to_numpy())
    if is_constant(model.predict_proba(population)[:, 1]):
        rule_choice.reason = "the learned model gives (nearly) one score to everyone: the rules are served"
        return rule_choice
    return Choice("enterprise", model, "learned",
                  f"the learned recipe beats the graded rules on the latest fold (labelled AP {learned_ap:.3f} vs {rules_ap:.3f})",
                  comparisons, test)


def choose_tip(latest: FoldResult, tips: pd.DataFrame, cases: pd.DataFrame, as_of: pd.Timestamp, config: TrainConfig,
               engine: str = "pandas") -> Choice:
    """The tip model to register: as for enterprises, against the tip corroboration rules."""
    from models.bundle import TipLeadModel
    from training.fit import lgbm_base, tip_feature_names

    if tips.empty:
        return Choice("tip", None, "rules", "no tips")
    test = latest.test_tip_rows
    lab = test[test["label"].notna()] if len(test) and "label" in test else test
    rules = RuleLeadModel(TIP_RULES, anomaly_weight=0.0, graded=True).fit(tips)
    fold_model = latest.tip_model
    rule_choice, answer, learned_ap, rules_ap = _rules_or_gate("tip", rules, latest.tip_scores, test, tips, fold_model,
                                                               "rules", config, "tip ", "corroboration rules")
    if answer is not None:
        return answer
    comparisons = rule_choice.comparisons
    model = fold_model
    if config.refit:
        fit = label_tips(tips[tips["received_at"] <= as_of], cases, known_by=as_of)
        fl = fit[fit["label"].notna()]
        y = fl["label"].astype(int).to_numpy()
        if len(np.unique(y)) == 2:
            model = TipLeadModel(tip_feature_names(tips), lgbm_base(config, engine).set_params(
                min_child_samples=min(config.lgbm.min_child_samples, 10)), config.calibration, tip_rules=config.tip_rules,
                learned_kappa=config.tip_learned_kappa, monotone=config.monotone)
            model.fit(fl, y, population=fit)
            if len(lab):
                _calibrate_like(model, fold_model, lab, lab["label"].astype(int).to_numpy())
    if is_constant(model.predict_proba(tips)[:, 1]):
        rule_choice.reason = "the learned tip model gives (nearly) one score to every tip: the rules are served"
        return rule_choice
    return Choice("tip", model, "learned",
                  f"the learned tip recipe beats the corroboration rules on the latest fold (labelled AP {learned_ap:.3f} vs {rules_ap:.3f})",
                  comparisons, test)
