"""The learned score blended with the action plan's rule score, by percentile against the training population.

Labels come from past investigations, and investigators did not choose at random: a booster fitted
on a few hundred of them can learn whom investigators looked at rather than who dumps. The action
plan's rules are domain knowledge independent of that choice. Blending the two percentiles (each
against the whole population of the fitting dates, so a single enterprise scores the same alone
or in a list) keeps the learned model's gains where labels support them and the rules' floor where
they do not; calibration then maps the blend to observed outcome rates. Measured in
experiments/RESULTS.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted


def _percentile(reference: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Mid-rank percentile of ``values`` in the sorted ``reference`` (ties share the middle)."""
    lo = np.searchsorted(reference, values, side="left")
    hi = np.searchsorted(reference, values, side="right")
    return (lo + hi) / (2.0 * max(len(reference), 1))


class RuleBlend(ClassifierMixin, BaseEstimator):
    """``(1 - weight) ·`` percentile of ``base``'s score ``+ weight ·`` percentile of column ``rule_column``.

    ``base`` is a fitted classifier over a feature matrix that includes ``rule_column``; ``fit``
    learns only the two reference distributions, from ``X`` (the population, labelled or not).
    Contributions and importances are the base model's (its reasons; the rule score is one of its
    features and has reasons of its own)."""

    def __init__(self, base=None, rule_column: str = "rule_score", weight: float = 0.5):
        self.base = base
        self.rule_column = rule_column
        self.weight = weight

    def fit(self, X: pd.DataFrame, y=None):
        check_is_fitted(self.base)
        if not 0.0 <= self.weight <= 1.0:
            raise ValueError(f"weight must be in [0, 1], got {self.weight}")
        self.base_reference_ = np.sort(self.base.predict_proba(X)[:, 1])
        self.rule_reference_ = np.sort(np.asarray(X[self.rule_column], dtype=float))
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "classes_")
        learned = _percentile(self.base_reference_, self.base.predict_proba(X)[:, 1])
        rules = _percentile(self.rule_reference_, np.asarray(X[self.rule_column], dtype=float))
        p = (1.0 - self.weight) * learned + self.weight * rules
        # a strictly increasing tie-break by the learned score keeps the order total within equal blends
        p = np.clip(p * (1 - 1e-6) + 1e-6 * self.base.predict_proba(X)[:, 1], 0.0, 1.0)
        return np.column_stack([1 - p, p])

    def predict(self, X) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def contributions(self, X) -> pd.DataFrame:
        return self.base.contributions(X)

    def importances(self) -> pd.Series:
        return self.base.importances()

    @property
    def feature_names_(self) -> list[str]:
        return self.base.feature_names_
