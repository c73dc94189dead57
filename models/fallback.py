"""Lead models for snapshots without usable labels (no past cases, or only one outcome).

A fresh deployment has no investigations recorded yet; it still needs a list. These models rank by
the action plan's rules and an anomaly score learned from the whole population, and explain
themselves with the rules an entity trips. They are registered like the learned models, tagged
``fallback``, and replaced by a learned model as soon as labels allow one to pass the gate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from models.baselines import ACTION_PLAN_RULES, OFFICER_RULES, AnomalyScorer, Rule, RuleScorer
from models.bundle import matrix
from models.explain import rule_reasons

TIP_RULES: tuple[Rule, ...] = (
    Rule("tip_channel_informant", 0.5, 3.0, "内部知情人举报", "insider tip"),
    Rule("tip_stops_nearby_7d", 1.0, 3.0, "举报前附近有危废车辆停留", "waste vehicles stopped nearby before the tip"),
    Rule("tip_night_stops_nearby_7d", 1.0, 2.0, "附近有夜间停留", "night stops nearby"),
    Rule("named_unaccounted_t_365d", 3.0, 2.0, "被点名企业去向不明达3吨", "named enterprise has 3 t unaccounted for"),
    Rule("tip_mentions_dumping", 1.0, 1.0, "描述倾倒/偷排", "describes dumping"),
    Rule("tip_mentions_water", 1.0, 1.0, "涉及水体", "mentions water"),
    Rule("tip_mentions_karst", 1.0, 1.0, "涉及溶洞", "mentions a karst cave"),
    Rule("tip_similar_7d", 1.0, 1.0, "多人举报同一事件", "several callers about one event"),
    Rule("tip_names_enterprise", 0.5, 1.0, "点名具体企业", "names an enterprise"),
)


class RuleLeadModel(ClassifierMixin, BaseEstimator):
    """Score = (1 - w) x rule share + w x anomaly rank (enterprises) or the rule share alone (tips).

    Not a calibrated probability: it has no labels to calibrate on; it orders the list.
    """

    def __init__(self, rules: tuple[Rule, ...] = ACTION_PLAN_RULES + OFFICER_RULES, anomaly_weight: float = 0.3):
        self.rules = rules
        self.anomaly_weight = anomaly_weight

    def fit(self, X: pd.DataFrame, y=None):
        self.rules_ = RuleScorer(self.rules).fit(X)
        self.features_ = [c for c in X.columns if c in _numeric_features(X)]
        self.anomaly_ = AnomalyScorer(n_estimators=100).fit(matrix(X, self.features_)) if self.anomaly_weight > 0 and self.features_ else None
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self)
        p = self.rules_.predict_proba(X)[:, 1]
        if self.anomaly_ is not None:
            p = (1 - self.anomaly_weight) * p + self.anomaly_weight * self.anomaly_.predict_proba(matrix(X, self.features_))[:, 1]
        return np.column_stack([1 - p, p])

    def predict(self, X) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def reasons(self, X: pd.DataFrame, lang: str = "zh") -> list[list[str]]:
        check_is_fitted(self)
        return rule_reasons(self.rules_.hits(X), self.rules_.rules_used_, lang)


def _numeric_features(X: pd.DataFrame) -> list[str]:
    from features.catalogue import CATALOGUE

    return [c for c in X.columns if c in CATALOGUE and pd.api.types.is_numeric_dtype(X[c])]
