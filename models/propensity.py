"""Selective labels: investigators chose whom to investigate. An investigation-propensity model
estimates P(investigated | features) on every entity-date; labelled rows are weighted by its
inverse so that the kinds of enterprise investigators rarely visit count more in training."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from models.baselines import LogisticBaseline


class PropensityWeights(BaseEstimator):
    """Fit on all rows with ``investigated`` (0/1); ``weights`` gives clipped, mean-one inverse propensities."""

    def __init__(self, C: float = 0.3, clip: float = 20.0):
        self.C = C
        self.clip = clip

    def fit(self, X, investigated):
        self.model_ = LogisticBaseline(C=self.C).fit(X, np.asarray(investigated).astype(int))
        return self

    def propensity(self, X) -> np.ndarray:
        check_is_fitted(self)
        # class_weight="balanced" shifts the intercept; rescale to the observed rate
        p = self.model_.predict_proba(X)[:, 1]
        return np.clip(p, 1e-4, 1.0)

    def weights(self, X) -> np.ndarray:
        p = self.propensity(X)
        w = np.clip(1.0 / p, 1.0, self.clip)
        return w / w.mean()
