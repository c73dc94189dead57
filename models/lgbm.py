"""The LightGBM lead model: a binary classifier (or LambdaRank ranker) over catalogue features."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data


class LeadClassifier(ClassifierMixin, BaseEstimator):
    """Gradient-boosted trees scoring how likely an entity is violating.

    ``objective="binary"`` learns probabilities; ``"lambdarank"`` learns an order within groups
    (as-of dates) and its scores are squashed through a sigmoid, to be calibrated afterwards.
    Missing values are left to LightGBM (it learns a direction for them).
    """

    def __init__(self, objective: str = "binary", n_estimators: int = 300, learning_rate: float = 0.03,
                 num_leaves: int = 15, min_child_samples: int = 20, subsample: float = 0.8,
                 colsample_bytree: float = 0.8, reg_lambda: float = 1.0, random_state: int | None = 0,
                 n_jobs: int = 1, monotone: dict | None = None):
        self.objective = objective
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.monotone = monotone

    def _params(self) -> dict:
        return dict(n_estimators=self.n_estimators, learning_rate=self.learning_rate, num_leaves=self.num_leaves,
                    min_child_samples=self.min_child_samples, subsample=self.subsample, subsample_freq=1,
                    colsample_bytree=self.colsample_bytree, reg_lambda=self.reg_lambda,
                    random_state=self.random_state, n_jobs=self.n_jobs, verbose=-1)

    def _check_classes(self) -> None:
        if len(self.classes_) < 2:
            raise ValueError(f"LeadClassifier needs both outcomes in y, got 1 class: {self.classes_.tolist()}")
        if len(self.classes_) > 2 and self.objective == "lambdarank":
            raise ValueError("lambdarank needs a binary y")

    def _prepare(self, X, y, sample_weight):
        """Validated training inputs shared by every way of fitting: (frame, y as 0..n-1, weights, params)."""
        names = list(X.columns) if isinstance(X, pd.DataFrame) else None
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan", dtype="float64")
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        self._check_classes()
        y01 = np.searchsorted(self.classes_, y)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X)
            if not np.any(sample_weight > 0):
                raise ValueError("sample_weight is zero for every row: nothing to learn from")
        self.feature_names_ = names or [f"x{i}" for i in range(X.shape[1])]
        frame = pd.DataFrame(X, columns=self.feature_names_)
        params = self._params()
        if self.monotone:
            # +1: the score may only rise with the feature; -1: only fall; 0: free (domain knowledge
            # that keeps a few hundred selectively chosen labels from teaching backwards relations)
            params["monotone_constraints"] = [int(self.monotone.get(f, 0)) for f in self.feature_names_]
            params["monotone_constraints_method"] = "advanced"
        return frame, y01, sample_weight, params

    def fit(self, X, y, sample_weight=None, groups=None):
        frame, y01, sample_weight, params = self._prepare(X, y, sample_weight)
        if self.objective == "lambdarank":
            order = np.argsort(np.asarray(groups) if groups is not None else np.zeros(len(y)), kind="stable")
            g = (np.asarray(groups)[order] if groups is not None else np.zeros(len(y)))
            _, sizes = np.unique(g, return_counts=True)
            self.model_ = lgb.LGBMRanker(objective="lambdarank", **params)
            self.model_.fit(frame.iloc[order], y01[order], group=sizes,
                            sample_weight=None if sample_weight is None else np.asarray(sample_weight)[order])
        elif self.objective == "binary":
            self.model_ = lgb.LGBMClassifier(**params)  # binary, or multiclass if y has more classes
            self.model_.fit(frame, y01, sample_weight=sample_weight)
        else:
            raise ValueError(f"objective must be 'binary' or 'lambdarank', got {self.objective!r}")
        self.booster_ = self.model_.booster_
        return self

    def _frame(self, X) -> pd.DataFrame:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype="float64")
        return pd.DataFrame(X, columns=self.feature_names_)

    def decision_function(self, X) -> np.ndarray:
        frame = self._frame(X)
        return self.booster_.predict(frame, raw_score=True)

    def predict_proba(self, X) -> np.ndarray:
        raw = self.decision_function(X)
        if raw.ndim == 2:  # multiclass: softmax
            e = np.exp(raw - raw.max(axis=1, keepdims=True))
            return e / e.sum(axis=1, keepdims=True)
        p = 1.0 / (1.0 + np.exp(-raw))
        return np.column_stack([1.0 - p, p])

    def predict(self, X) -> np.ndarray:
        check_is_fitted(self)
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def contributions(self, X) -> pd.DataFrame:
        """Per-feature contributions to the raw score (LightGBM's ``pred_contrib``); column ``bias`` last."""
        frame = self._frame(X)
        if len(self.classes_) != 2:
            raise ValueError("contributions are defined for a binary lead model")
        contrib = self.booster_.predict(frame, pred_contrib=True)
        return pd.DataFrame(contrib, columns=[*self.feature_names_, "bias"], index=getattr(X, "index", None))

    def importances(self) -> pd.Series:
        check_is_fitted(self)
        return pd.Series(self.booster_.feature_importance("gain"), index=self.feature_names_).sort_values(ascending=False)
