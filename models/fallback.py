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

from models.baselines import ACTION_PLAN_RULES, OFFICER_RULES, TIP_RULES, AnomalyScorer, Rule, RuleScorer  # noqa: F401 (TIP_RULES re-exported)
from models.bundle import matrix
from models.explain import expand_rules, render_reasons


class RuleLeadModel(ClassifierMixin, BaseEstimator):
    """Score = (1 - w) x rule share + w x anomaly rank (enterprises) or the rule share alone (tips).

    With ``graded=True`` ties of the rule share are broken by how far values go toward or past each
    threshold (``RuleScorer``). ``calibrate(X, y)`` maps the score to observed outcome rates (Platt,
    on labels the rules never learned from); uncalibrated, it only orders the list.
    """

    def __init__(self, rules: tuple[Rule, ...] = ACTION_PLAN_RULES + OFFICER_RULES, anomaly_weight: float = 0.3,
                 graded: bool = False):
        self.rules = rules
        self.anomaly_weight = anomaly_weight
        self.graded = graded

    def fit(self, X: pd.DataFrame, y=None):
        self.rules_ = RuleScorer(self.rules, graded=getattr(self, "graded", False)).fit(X)
        self.features_ = [c for c in X.columns if c in _numeric_features(X)]
        self.anomaly_ = AnomalyScorer(n_estimators=100).fit(matrix(X, self.features_)) if self.anomaly_weight > 0 and self.features_ else None
        self.classes_ = np.array([0, 1])
        self.calibration_ = None
        return self

    def raw(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self)
        p = self.rules_.predict_proba(X)[:, 1]
        if self.anomaly_ is not None:
            p = (1 - self.anomaly_weight) * p + self.anomaly_weight * self.anomaly_.predict_proba(matrix(X, self.features_))[:, 1]
        return p

    def calibrate(self, X: pd.DataFrame, y) -> RuleLeadModel:
        """Platt scaling of the score on labelled rows (kept uncalibrated with one class only)."""
        from sklearn.linear_model import LogisticRegression

        y = np.asarray(y).astype(int)
        self.calibration_ = None
        if len(np.unique(y)) == 2:
            lr = LogisticRegression(C=1e3).fit(_logit(self.raw(X)).reshape(-1, 1), y)
            # a map that turns the order round would serve the rules upside down: keep the raw score
            self.calibration_ = lr if lr.coef_[0, 0] > 0 else None
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        p = self.raw(X)
        if getattr(self, "calibration_", None) is not None:
            p = self.calibration_.predict_proba(_logit(p).reshape(-1, 1))[:, 1]
        return np.column_stack([1 - p, p])

    def predict(self, X) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """The rule score handed on to the rules tripped (by weight; by margin where none is
        tripped), and the anomaly share to ``anomaly_score``."""
        check_is_fitted(self)
        rule = self.rules_.predict_proba(X)[:, 1] * (1 - self.anomaly_weight if self.anomaly_ is not None else 1.0)
        c = pd.DataFrame({"rule_score": rule}, index=X.index)
        if self.anomaly_ is not None:
            c["anomaly_score"] = self.anomaly_weight * self.anomaly_.predict_proba(matrix(X, self.features_))[:, 1]
        c["bias"] = 0.0
        return expand_rules(c, X, self.rules_)

    def _frame(self, X: pd.DataFrame) -> pd.DataFrame:
        if self.anomaly_ is None:
            return X
        return X.assign(anomaly_score=self.anomaly_.predict_proba(matrix(X, self.features_))[:, 1])

    def reasons(self, X: pd.DataFrame, lang: str = "zh") -> list[list[str]]:
        return render_reasons(self.contributions(X), self._frame(X), lang)

    def explain(self, X: pd.DataFrame) -> tuple[list[list[str]], list[list[str]]]:
        c, frame = self.contributions(X), self._frame(X)
        return render_reasons(c, frame, "zh"), render_reasons(c, frame, "en")


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _numeric_features(X: pd.DataFrame) -> list[str]:
    from features.catalogue import CATALOGUE

    return [c for c in X.columns if c in CATALOGUE and pd.api.types.is_numeric_dtype(X[c])]
