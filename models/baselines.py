"""Baselines the LightGBM model must beat: random, the action plan's own rules, logistic regression
on the same features, and an unsupervised anomaly score that needs no labels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, OutlierMixin
from sklearn.ensemble import IsolationForest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from models.impute import MedianImputer


class RandomScorer(ClassifierMixin, BaseEstimator):
    """Scores drawn uniformly at random: the base rate any list must beat."""

    def __init__(self, random_state: int = 0):
        self.random_state = random_state

    def fit(self, X, y=None):
        if y is None:
            X = validate_data(self, X, ensure_all_finite="allow-nan", dtype=None)
            self.classes_ = np.array([0, 1])
        else:
            X, y = validate_data(self, X, y, ensure_all_finite="allow-nan", dtype=None)
            check_classification_targets(y)
            self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=None)
        p = np.random.default_rng(self.random_state).random(X.shape[0])
        if len(self.classes_) == 1:
            return np.ones((X.shape[0], 1))
        return np.column_stack([1 - p, p])

    def predict(self, X) -> np.ndarray:
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]


@dataclass(frozen=True)
class Rule:
    feature: str
    threshold: float
    weight: float
    zh: str
    en: str


# The action plan's behaviours turned into checks an officer could run by hand (附件3 三(二)).
ACTION_PLAN_RULES: tuple[Rule, ...] = (
    Rule("unaccounted_t_365d", 3.0, 3.0, "去向不明危废达3吨", "3 t or more unaccounted for"),
    Rule("unlicensed_receiver_t_365d", 0.01, 3.0, "交给无许可单位", "handed to an unlicensed receiver"),
    Rule("received_unlicensed_t_365d", 0.01, 2.0, "超范围接收", "received outside its licence"),
    Rule("expired_licence_manifests_365d", 1.0, 1.0, "接收方许可过期", "receiver's licence expired"),
    Rule("unlicensed_transport_manifests_365d", 1.0, 2.0, "无资质运输", "carried without licence or permit"),
    Rule("unconfirmed_t_365d", 1.0, 1.0, "联单超期未确认", "manifests unconfirmed after 30 days"),
    Rule("shrinkage_t_365d", 1.0, 2.0, "运输途中短少", "loads lost in transit"),
    Rule("night_stops_near_water_90d", 1.0, 2.0, "夜间在水体附近停车", "night stops near water"),
    Rule("offbook_pickups_90d", 1.0, 2.0, "无联单收运", "pickups without a manifest"),
    Rule("night_share_excess_90d", 0.2, 1.0, "夜间用电异常偏高", "unusually high night-time power"),
)
# Not the action plan's own checks, but what an officer adds without a model: a violation confirmed
# in the last year (the contract's target is a violation at any time in the 365 days up to the date,
# and a confirmed case is one), and tips naming the enterprise. The lists served use both.
OFFICER_RULES: tuple[Rule, ...] = (
    Rule("confirmed_cases_365d", 1.0, 3.0, "近一年已有案件查实", "a violation confirmed in the last year"),
    Rule("tips_naming_90d", 1.0, 1.0, "近期被举报", "named in recent tips"),
)
LEAD_RULES: tuple[Rule, ...] = ACTION_PLAN_RULES + OFFICER_RULES

# What corroborates a tip, for the tip list's rule score (the prior of the tip model, and the list
# served when learning cannot beat it).
TIP_RULES: tuple[Rule, ...] = (
    Rule("tip_channel_informant", 0.5, 3.0, "内部知情人举报", "insider tip"),
    Rule("tip_stops_nearby_14d", 1.0, 3.0, "举报前附近有危废车辆停留", "waste vehicles stopped nearby before the tip"),
    Rule("tip_plate_seen_nearby", 1.0, 3.0, "举报所述车牌的车辆曾在附近停留", "the plate the caller saw stopped nearby"),
    Rule("tip_night_stops_nearby_14d", 1.0, 2.0, "附近有夜间停留", "night stops nearby"),
    Rule("named_unaccounted_t_365d", 3.0, 2.0, "被点名企业去向不明达3吨", "named enterprise has 3 t unaccounted for"),
    Rule("tip_similar_14d", 1.0, 1.0, "多人或多次举报同一事件", "several tips about one event"),
    Rule("tip_names_water_place", 1.0, 1.0, "点名河流或水库", "names a river or reservoir"),
    Rule("tip_mentions_dumping", 1.0, 1.0, "描述倾倒/偷排", "describes dumping"),
    Rule("tip_mentions_water", 1.0, 1.0, "涉及水体", "mentions water"),
    Rule("tip_mentions_karst", 1.0, 1.0, "涉及溶洞", "mentions a karst cave"),
    Rule("tip_names_enterprise", 0.5, 1.0, "点名具体企业", "names an enterprise"),
)


GRADE_BY = {"unaccounted_t_365d": "suspect_t_365d"}


class RuleScorer(ClassifierMixin, BaseEstimator):
    """The share of the action plan's rules an entity trips, weighted. Needs named feature columns;
    rules whose feature is absent are skipped (listed in ``rules_used_``).

    With ``graded=True`` ties are broken by how far each value goes toward or past its threshold
    (``margins``): the order of the binary share is kept exactly (the tie-break moves a score by
    less than the smallest rule weight), and within one share an enterprise with 2.9 t unaccounted
    ranks above one with none, one with 40 t above one with 3 t."""

    def __init__(self, rules: tuple[Rule, ...] = ACTION_PLAN_RULES, graded: bool = False):
        self.rules = rules
        self.graded = graded

    def fit(self, X: pd.DataFrame, y=None):
        if not isinstance(X, pd.DataFrame):
            raise TypeError("RuleScorer needs a DataFrame with feature names")
        self.rules_used_ = tuple(r for r in self.rules if r.feature in X.columns)
        self.classes_ = np.array([0, 1]) if y is None else np.unique(y)
        self.n_features_in_ = X.shape[1]
        return self

    def hits(self, X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self)
        return pd.DataFrame({r.feature: (X[r.feature].fillna(-np.inf) >= r.threshold) for r in self.rules_used_}, index=X.index)

    def margins(self, X: pd.DataFrame) -> np.ndarray:
        """Per row in [0, 1]: the weighted mean over rules of log1p(value / threshold) / log(11)
        (0 at zero, 0.29 at the threshold, 1 at ten times it, capped). A rule whose feature has a
        weighted counterpart in ``GRADE_BY`` is graded by it (tonnes unaccounted for by the tonnes in
        doubt, where a load never confirmed counts half, as the action plan weighs it)."""
        check_is_fitted(self)
        if not self.rules_used_:
            return np.zeros(len(X))
        w = np.array([r.weight for r in self.rules_used_])

        def value(r: Rule) -> np.ndarray:
            col = GRADE_BY.get(r.feature, r.feature)
            col = col if col in X.columns else r.feature
            return np.clip(pd.to_numeric(X[col], errors="coerce").fillna(0.0).to_numpy(float), 0, None)

        m = np.column_stack([np.clip(np.log1p(value(r) / r.threshold) / np.log(11.0), 0.0, 1.0) for r in self.rules_used_])
        return (m @ w) / w.sum()

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        h = self.hits(X)
        w = np.array([r.weight for r in self.rules_used_])
        p = (h.to_numpy(dtype=float) @ w) / max(w.sum(), 1e-9) if len(w) else np.zeros(len(X))
        if self.graded and len(w):
            step = w.min() / w.sum()  # the smallest move of the binary share
            p = (p + 0.5 * step * self.margins(X)) / (1 + 0.5 * step)
        return np.column_stack([1 - p, p])

    def predict(self, X) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] > 0).astype(int)


class LogisticBaseline(ClassifierMixin, BaseEstimator):
    """Logistic regression on the same features: median imputation with missing-value indicators,
    standardisation, L2 penalty, balanced class weights."""

    def __init__(self, C: float = 0.3, max_iter: int = 2000):
        self.C = C
        self.max_iter = max_iter

    def fit(self, X, y, sample_weight=None):
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan", dtype="float64")
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        X = np.where(np.isinf(X), np.nan, X)
        self.pipeline_ = make_pipeline(
            MedianImputer(strategy="median", add_indicator=True, keep_empty_features=True),
            StandardScaler(),
            LogisticRegression(C=self.C, max_iter=self.max_iter, class_weight="balanced"),
        )
        self.pipeline_.fit(X, y, logisticregression__sample_weight=sample_weight)
        self.n_iter_ = self.pipeline_[-1].n_iter_
        return self

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype="float64")
        return self.pipeline_.predict_proba(np.where(np.isinf(X), np.nan, X))

    def predict(self, X) -> np.ndarray:
        check_is_fitted(self)
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


class AnomalyScorer(OutlierMixin, BaseEstimator):
    """IsolationForest on median-imputed features: how unusual an entity is, with no labels.

    Follows scikit-learn's outlier conventions (``score_samples``: lower is more abnormal;
    ``predict``: -1 for the most abnormal ``contamination`` share). ``predict_proba``'s second
    column is the share of training rows less anomalous than the row, in [0, 1], so that the
    anomaly score can be ranked beside the classifiers.
    """

    def __init__(self, n_estimators: int = 200, contamination: float = 0.1, random_state: int = 0):
        self.n_estimators = n_estimators
        self.contamination = contamination
        self.random_state = random_state

    def _prep(self, X: np.ndarray) -> np.ndarray:
        return self.imputer_.transform(np.where(np.isinf(X), np.nan, X))

    def fit(self, X, y=None):
        self._fit(X)
        return self

    def _fit(self, X) -> np.ndarray:
        """Fit; the training rows' anomaly (``-score_samples``), in row order."""
        X = validate_data(self, X, ensure_all_finite="allow-nan", dtype="float64")
        self.imputer_ = MedianImputer(strategy="median", keep_empty_features=True).fit(np.where(np.isinf(X), np.nan, X))
        self.forest_ = IsolationForest(n_estimators=self.n_estimators, random_state=self.random_state).fit(self._prep(X))
        train = self.forest_.score_samples(self._prep(X))
        self.offset_ = float(np.quantile(train, self.contamination))
        self.train_anomaly_ = np.sort(-train)
        self.classes_ = np.array([0, 1])
        return -train

    def fit_predict_proba(self, X, y=None) -> np.ndarray:
        """``fit(X).predict_proba(X)``, the forest walked once: fitting already scores every row."""
        return self._proba(self._fit(X))

    def score_samples(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype="float64")
        return self.forest_.score_samples(self._prep(X))

    def decision_function(self, X) -> np.ndarray:
        return self.score_samples(X) - self.offset_

    def predict(self, X) -> np.ndarray:
        return np.where(self.decision_function(X) < 0, -1, 1)

    def predict_proba(self, X) -> np.ndarray:
        return self._proba(-self.score_samples(X))

    def _proba(self, anomaly: np.ndarray) -> np.ndarray:
        p = np.searchsorted(self.train_anomaly_, anomaly, side="right") / max(len(self.train_anomaly_), 1)
        return np.column_stack([1 - p, p])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


def linear_contributions(model: LogisticBaseline, X) -> np.ndarray:
    """Per feature and row: coefficient x standardised value (a missing value's indicator term is
    added to its feature), the logistic regression's log-odds split by feature."""
    check_is_fitted(model)
    X = validate_data(model, X, reset=False, ensure_all_finite="allow-nan", dtype="float64")
    X = np.where(np.isinf(X), np.nan, X)
    imputer, scaler, lr = model.pipeline_[0], model.pipeline_[1], model.pipeline_[2]
    Z = scaler.transform(imputer.transform(X)) * lr.coef_[0]
    n = X.shape[1]
    out = Z[:, :n].copy()
    if imputer.indicator_ is not None:
        for k, j in enumerate(imputer.indicator_.features_):
            out[:, j] += Z[:, n + k]
    return out
