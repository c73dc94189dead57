"""The booster's score blended with a linear model's and the action plan's rule score, by percentile.

Labels come from past investigations: a few hundred, chosen by investigators rather than at random.
A booster fitted on so few learns interactions where they are real and noise where they are not,
and which of the two changes from city to city (on four simulated cities its precision@20 against
the truth ranged from 0.31 to 0.71). A regularised linear model on the same labels is steadier and
misses interactions; the action plan's rules do not learn from the labels at all, so they carry
none of the investigators' selection. Averaging the three percentiles (each against the whole
population of the fitting dates, so a single enterprise scores the same alone or in a list) keeps
most of each one's strength and little of its worst case; calibration then maps the blend to
observed outcome rates. Measured in experiments/RESULTS.md.
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


class PercentileBlend(ClassifierMixin, BaseEstimator):
    """``w_base ·`` pct(``base``) ``+ w_linear ·`` pct(``linear``) ``+ w_rules ·`` pct(column ``rule_column``).

    ``base`` and ``linear`` are fitted classifiers over the same feature matrix, which includes
    ``rule_column``; ``linear`` may be None (its weight must then be 0). The base gets
    ``1 - rule_weight - linear_weight``. ``fit`` learns only the reference distributions, from
    ``X`` (the population, labelled or not). Contributions and importances are the base model's:
    its reasons (the rule score is one of its features and has reasons of its own)."""

    def __init__(self, base=None, linear=None, rule_column: str = "rule_score", rule_weight: float = 0.5,
                 linear_weight: float = 0.0):
        self.base = base
        self.linear = linear
        self.rule_column = rule_column
        self.rule_weight = rule_weight
        self.linear_weight = linear_weight

    def _components(self, X: pd.DataFrame) -> dict[str, np.ndarray]:
        # rounded: a row scored alone and in a batch can differ in the last bits (BLAS), and a
        # percentile looked up among equal values would then move by a tie's width
        out = {"base": self.base.predict_proba(X)[:, 1]}
        if self.linear_weight:
            out["linear"] = self.linear.predict_proba(X)[:, 1]
        if self.rule_weight:
            out["rules"] = np.asarray(X[self.rule_column], dtype=float)
        return {k: np.round(v, 9) for k, v in out.items()}

    def fit(self, X: pd.DataFrame, y=None):
        check_is_fitted(self.base)
        w = (self.rule_weight, self.linear_weight)
        if min(w) < 0 or sum(w) > 1:
            raise ValueError(f"weights must be non-negative and sum to at most 1, got rules {w[0]} and linear {w[1]}")
        if self.linear_weight and self.linear is None:
            raise ValueError("a linear weight needs a fitted linear model")
        self.references_ = {k: np.sort(v) for k, v in self._components(X).items()}
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "classes_")
        parts = self._components(X)
        weights = {"base": 1.0 - self.rule_weight - self.linear_weight, "linear": self.linear_weight, "rules": self.rule_weight}
        p = sum(weights[k] * _percentile(self.references_[k], v) for k, v in parts.items())
        # a strictly increasing tie-break by the booster keeps the order total among equal blends
        p = np.clip(p * (1 - 1e-6) + 1e-6 * parts["base"], 0.0, 1.0)
        return np.column_stack([1 - p, p])

    def predict(self, X) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def contributions(self, X) -> pd.DataFrame:
        """Each part's share of the score, split over the features that raised it: a part adds
        weight x its percentile for this row, divided among features in proportion to their
        positive contributions to that part (the booster's SHAP values, the linear model's
        coefficient x standardised value); the rule score's share goes to ``rule_column`` (the
        caller expands it into the rules tripped). Same columns as the booster's, ``bias`` 0."""
        check_is_fitted(self, "classes_")
        from models.baselines import linear_contributions

        base_c = self.base.contributions(X)
        names = [c for c in base_c.columns if c != "bias"]
        parts = self._components(X)
        weights = {"base": 1.0 - self.rule_weight - self.linear_weight, "linear": self.linear_weight, "rules": self.rule_weight}
        pct = {k: _percentile(self.references_[k], v) for k, v in parts.items()}
        out = np.zeros((len(X), len(names)))

        def spread(c: np.ndarray, share: np.ndarray) -> None:
            pos = np.clip(c, 0.0, None)
            total = pos.sum(axis=1, keepdims=True)
            out[:] += np.where(total > 0, pos / np.where(total > 0, total, 1.0), 0.0) * share[:, None]

        spread(base_c[names].to_numpy(dtype=float), weights["base"] * pct["base"])
        if "linear" in pct:
            spread(linear_contributions(self.linear, X), weights["linear"] * pct["linear"])
        if "rules" in pct and self.rule_column in names:
            out[:, names.index(self.rule_column)] += weights["rules"] * pct["rules"]
        frame = pd.DataFrame(out, columns=names, index=getattr(X, "index", None))
        frame["bias"] = 0.0
        return frame

    def importances(self) -> pd.Series:
        return self.base.importances()

    @property
    def feature_names_(self) -> list[str]:
        return self.base.feature_names_
