"""Calibration on a later fold: a fitted scorer's probabilities mapped to observed outcome rates.

Platt scaling (a logistic fit on the logit of the base score) is the default: it is stable on the
few hundred labelled rows a calibration fold has. Isotonic is available for large folds.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted

EPS = 1e-6


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, EPS, 1 - EPS)
    return np.log(p / (1 - p))


class CalibratedLeadModel(ClassifierMixin, BaseEstimator):
    """``base`` is already fitted (on earlier as-of dates); ``fit`` learns only the calibration map."""

    def __init__(self, base=None, method: str = "sigmoid"):
        self.base = base
        self.method = method

    def fit(self, X, y, sample_weight=None):
        check_is_fitted(self.base)
        y = np.asarray(y).astype(int)
        raw = self.base.predict_proba(X)[:, 1]
        self.classes_ = np.array([0, 1])
        if len(np.unique(y)) < 2:
            self.map_ = None  # one class only: keep the base probabilities
            return self
        if self.method == "isotonic":
            self.map_ = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, y, sample_weight=sample_weight)
        elif self.method == "sigmoid":
            self.map_ = LogisticRegression(C=1e3).fit(_logit(raw).reshape(-1, 1), y, sample_weight=sample_weight)
            if self.map_.coef_[0, 0] <= 0:  # labels that contradict the order: calibrating would reverse the list
                self.map_ = None
        else:
            raise ValueError(f"method must be 'sigmoid' or 'isotonic', got {self.method!r}")
        return self

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self, "classes_")
        raw = self.base.predict_proba(X)[:, 1]
        if self.map_ is None:
            p = raw
        elif self.method == "isotonic":
            p = self.map_.predict(raw)
        else:
            p = self.map_.predict_proba(_logit(raw).reshape(-1, 1))[:, 1]
        p = np.clip(p, 0.0, 1.0)
        return np.column_stack([1 - p, p])

    def predict(self, X) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def contributions(self, X):
        """The base model's contributions (calibration is monotone: the order of reasons is unchanged)."""
        return self.base.contributions(X)

    @property
    def feature_names_(self) -> list[str]:
        return self.base.feature_names_
