"""A lead model that starts from the action plan's rules and moves away from them only as far as
the labels show it should.

Labels are a few dozen to a few hundred investigations, chosen by investigators and sometimes
wrong. A model fitted freely on them is as likely to learn the investigators' habits and the
errors in the records as the violations, and then ranks worse than the rules it was meant to
improve (measured on randomised cities: experiments/RESULTS.md). Here the rules are the prior:

1. the prior's log-odds are a logistic fit of the labels on the graded rule score and the
   anomaly score (two non-negative coefficients: the rules' order is kept);
2. LightGBM then learns only a correction to those log-odds (``init_score``), monotone in each
   feature's suspicious direction, and stops adding trees as soon as a later period's labels stop
   agreeing (early stopping on the latest as-of dates). With few or noisy labels it stops at once
   and the model *is* the rules; with many consistent labels it learns what the rules miss.

The score is ``sigmoid(prior log-odds + correction)``; ``contributions`` split it into the prior
(reported as the rule score's and the anomaly score's own terms) and the trees' per-feature terms.
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted

PRIOR_COLUMNS = ("rule_score", "anomaly_score")


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


class RulePriorBooster(ClassifierMixin, BaseEstimator):
    """Gradient-boosted corrections to a rule-based prior. ``X`` is the model matrix (float
    columns, including ``prior_columns``); ``fit``'s ``groups`` are the rows' as-of dates, used to
    hold the latest ``valid_share`` of dates out for early stopping."""

    def __init__(self, prior_columns: tuple[str, ...] = PRIOR_COLUMNS, learning_rate: float = 0.05,
                 max_trees: int = 400, num_leaves: int = 7, min_child_samples: int = 20, reg_lambda: float = 5.0,
                 subsample: float = 0.8, colsample_bytree: float = 0.8, valid_share: float = 0.3, patience: int = 40,
                 monotone: dict | None = None, random_state: int = 0):
        self.prior_columns = prior_columns
        self.learning_rate = learning_rate
        self.max_trees = max_trees
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.reg_lambda = reg_lambda
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.valid_share = valid_share
        self.patience = patience
        self.monotone = monotone
        self.random_state = random_state

    # -- the prior --------------------------------------------------------------------------
    def _prior_design(self, X: pd.DataFrame) -> np.ndarray:
        cols = [c for c in self.prior_columns if c in X.columns]
        return np.column_stack([pd.to_numeric(X[c], errors="coerce").fillna(0.0).to_numpy(float) for c in cols]) \
            if cols else np.zeros((len(X), 0))

    def _fit_prior(self, Z: np.ndarray, y: np.ndarray) -> None:
        """Logistic fit with non-negative slopes (a negative slope is dropped and the fit repeated)."""
        keep = list(range(Z.shape[1]))
        while True:
            if not keep:
                self.prior_coef_ = np.zeros(Z.shape[1])
                self.prior_intercept_ = float(_logit(np.array([y.mean()]))[0])
                return
            lr = LogisticRegression(C=1.0, max_iter=1000).fit(Z[:, keep], y)
            coef = lr.coef_[0]
            if (coef >= 0).all():
                full = np.zeros(Z.shape[1])
                full[keep] = coef
                self.prior_coef_, self.prior_intercept_ = full, float(lr.intercept_[0])
                return
            keep.pop(int(np.argmin(coef)))

    def prior_logit(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "prior_coef_")
        Z = self._prior_design(X)
        return self.prior_intercept_ + (Z @ self.prior_coef_ if Z.shape[1] else 0.0)

    # -- the correction ---------------------------------------------------------------------
    def _booster(self, n_estimators: int) -> lgb.LGBMClassifier:
        cons = None
        if self.monotone:
            cons = [int(self.monotone.get(c, 0)) for c in self.feature_names_]
        return lgb.LGBMClassifier(
            n_estimators=n_estimators, learning_rate=self.learning_rate, num_leaves=self.num_leaves,
            min_child_samples=self.min_child_samples, reg_lambda=self.reg_lambda, subsample=self.subsample,
            subsample_freq=1, colsample_bytree=self.colsample_bytree, random_state=self.random_state, n_jobs=1,
            verbose=-1, monotone_constraints=cons, monotone_constraints_method="advanced" if cons else "basic")

    def fit(self, X: pd.DataFrame, y, groups=None, sample_weight=None):
        if not isinstance(X, pd.DataFrame):
            raise TypeError("RulePriorBooster needs a DataFrame with the prior's named columns")
        y = np.asarray(y).astype(int)
        self.classes_ = np.array([0, 1])
        self.feature_names_ = list(X.columns)
        self.n_features_in_ = X.shape[1]
        if len(np.unique(y)) < 2:
            raise ValueError("RulePriorBooster needs both outcomes among the labels")
        self._fit_prior(self._prior_design(X), y)
        init = self.prior_logit(X)
        M = X.to_numpy(dtype=float)
        groups = np.asarray(groups) if groups is not None else np.zeros(len(X))
        dates = np.unique(groups)
        n_valid = int(round(len(dates) * self.valid_share))
        self.n_trees_ = 0
        if n_valid >= 1 and len(dates) - n_valid >= 1:
            valid = np.isin(groups, dates[-n_valid:])
            if len(np.unique(y[valid])) == 2 and len(np.unique(y[~valid])) == 2:
                probe = self._booster(self.max_trees)
                probe.fit(M[~valid], y[~valid], init_score=init[~valid], eval_X=(M[valid],), eval_y=(y[valid],),
                          eval_init_score=[init[valid]], sample_weight=None if sample_weight is None else sample_weight[~valid],
                          callbacks=[lgb.early_stopping(self.patience, first_metric_only=True, verbose=False)])
                best = probe.best_iteration_ or 0
                # a correction that never beat the prior on the later labels is no correction
                scores = probe.evals_result_.get("valid_0", {}).get("binary_logloss", [])
                prior_loss = _logloss(y[valid], init[valid])
                if best and scores and min(scores) < prior_loss - 1e-4:
                    self.n_trees_ = int(best)
        self.booster_ = None
        if self.n_trees_:
            self.booster_ = self._booster(self.n_trees_).fit(M, y, init_score=init, sample_weight=sample_weight)
        return self

    def _raw(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "classes_")
        out = self.prior_logit(X)
        if self.booster_ is not None:
            out = out + self.booster_.predict(X[self.feature_names_].to_numpy(dtype=float), raw_score=True)
        return out

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        p = 1.0 / (1.0 + np.exp(-self._raw(X)))
        return np.column_stack([1 - p, p])

    def predict(self, X) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Per-feature log-odds terms: the prior's (rule and anomaly scores, relative to zero) plus
        the trees' SHAP contributions; ``bias`` holds the intercepts."""
        check_is_fitted(self, "classes_")
        out = pd.DataFrame(0.0, index=X.index, columns=[*self.feature_names_, "bias"])
        Z = self._prior_design(X)
        cols = [c for c in self.prior_columns if c in X.columns]
        for j, c in enumerate(cols):
            out[c] += Z[:, j] * self.prior_coef_[j]
        out["bias"] += self.prior_intercept_
        if self.booster_ is not None:
            sh = self.booster_.predict(X[self.feature_names_].to_numpy(dtype=float), pred_contrib=True)
            out.iloc[:, :] += sh
        return out

    def importances(self) -> pd.Series:
        check_is_fitted(self, "classes_")
        if self.booster_ is None:
            return pd.Series(0.0, index=self.feature_names_)
        return pd.Series(self.booster_.booster_.feature_importance("gain"), index=self.feature_names_)


def _logloss(y: np.ndarray, logit: np.ndarray) -> float:
    p = np.clip(1.0 / (1.0 + np.exp(-logit)), 1e-12, 1 - 1e-12)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
