"""The models that get registered and served: a calibrated LightGBM over named catalogue features,
for enterprises, and the same with a character n-gram text score for tips.

Each is a scikit-learn estimator whose input is the feature frame (extra columns are ignored), so
that MLflow's sklearn flavour can log it with a signature and the service can call it directly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.api.types import is_numeric_dtype
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.validation import check_is_fitted

from models.baselines import ACTION_PLAN_RULES, TIP_RULES, AnomalyScorer, LogisticBaseline, Rule, RuleScorer
from models.blend import PercentileBlend
from models.calibration import CalibratedLeadModel
from models.explain import expand_rules, render_reasons
from models.lgbm import LeadClassifier
from models.text import TipTextScorer

TEXT_SCORE = "tip_text_score"
ANOMALY_SCORE = "anomaly_score"
RULE_SCORE = "rule_score"


def monotone_directions(features: list[str]) -> dict[str, int]:
    """The catalogue's suspicious direction of each feature, for monotone constraints."""
    from features.catalogue import CATALOGUE

    return {f: CATALOGUE[f].direction for f in features if f in CATALOGUE}


ANOMALY_TREES = 100  # the anomaly feature's isolation forest (and the anomaly baseline's: training.fit)


def matrix(frame: pd.DataFrame, features: list[str]) -> pd.DataFrame:
    """The model's columns of ``frame`` as float64 (absent columns are missing values)."""
    out = frame.reindex(columns=features)
    if all(is_numeric_dtype(t) for t in out.dtypes):  # no text to coerce: one copy, not a pass per column
        return out.astype("float64")
    return out.apply(pd.to_numeric, errors="coerce").astype("float64")


class EnterpriseLeadModel(ClassifierMixin, BaseEstimator):
    """LightGBM fitted on earlier as-of dates, calibrated on later ones (``fit``'s ``calibrate_on``).

    With ``anomaly=True`` an IsolationForest fitted on the whole population (``fit``'s
    ``population``: every entity, labelled or not) adds its anomaly score as a feature: a signal
    learned without labels, so not shaped by whom investigators chose.
    """

    def __init__(self, features: list[str] | None = None, base: LeadClassifier | None = None,
                 calibration: str = "sigmoid", anomaly: bool = False, rules: bool = False, monotone: bool = False,
                 rule_blend: float = 0.0, linear_blend: float = 0.0, graded_rules: bool = False,
                 learned_kappa: float | None = None, rule_set: tuple[Rule, ...] | None = None,
                 entity_column: str = "enterprise_id"):
        self.features = features
        self.base = base
        self.calibration = calibration
        self.anomaly = anomaly
        self.rules = rules
        self.monotone = monotone
        self.rule_blend = rule_blend
        self.linear_blend = linear_blend
        self.graded_rules = graded_rules
        self.learned_kappa = learned_kappa
        self.rule_set = rule_set
        self.entity_column = entity_column

    def _with_anomaly(self, X: pd.DataFrame, anomaly: np.ndarray | None = None) -> pd.DataFrame:
        """``X`` with the anomaly and rule scores the booster reads (``anomaly``: the anomaly score of
        ``X``'s rows when already known)."""
        extra = {}
        if anomaly is not None:
            extra[ANOMALY_SCORE] = anomaly
        elif getattr(self, "anomaly_", None) is not None:
            extra[ANOMALY_SCORE] = self.anomaly_.predict_proba(matrix(X, self.anomaly_features_))[:, 1]
        if getattr(self, "rules_", None) is not None:
            extra[RULE_SCORE] = self.rules_.predict_proba(X)[:, 1]
        return X.assign(**extra) if extra else X

    def fit(self, X: pd.DataFrame, y, sample_weight=None, groups=None, calibrate_on: tuple | None = None,
            population: pd.DataFrame | None = None):
        feats = list(self.features) if self.features is not None else list(X.columns)
        self.anomaly_ = None
        self.rules_ = None
        if self.rules:
            rule_set = getattr(self, "rule_set", None) or ACTION_PLAN_RULES
            self.rules_ = RuleScorer(rule_set, graded=getattr(self, "graded_rules", False)).fit(X)
            if RULE_SCORE not in feats:
                feats = [*feats, RULE_SCORE]
        pop_anomaly = None  # the population's anomaly scores, computed while fitting the forest on it
        if self.anomaly:
            self.anomaly_features_ = [f for f in feats if f not in (ANOMALY_SCORE, RULE_SCORE)]
            pop = population if population is not None else X
            self.anomaly_ = AnomalyScorer(n_estimators=ANOMALY_TREES)
            pop_anomaly = self.anomaly_.fit_predict_proba(matrix(pop, self.anomaly_features_))[:, 1]
            if ANOMALY_SCORE not in feats:
                feats = [*feats, ANOMALY_SCORE]
        X = self._with_anomaly(X, pop_anomaly if population is None else None)
        if calibrate_on is not None:
            calibrate_on = (self._with_anomaly(calibrate_on[0]), calibrate_on[1])
        self.features_ = feats
        base = clone(self.base) if self.base is not None else LeadClassifier()
        if self.monotone:
            base.set_params(monotone=monotone_directions(feats))
        fit_kw = {"sample_weight": sample_weight}
        if getattr(base, "objective", "binary") == "lambdarank":
            fit_kw["groups"] = groups
        base.fit(matrix(X, self.features_), np.asarray(y).astype(int), **fit_kw)
        self.n_train_rows_ = len(X)
        scorer = base
        rule_w, linear_w = self._blend_weights(X, np.asarray(y).astype(int), sample_weight)
        self.blend_weights_ = {"rules": rule_w, "linear": linear_w, "booster": 1.0 - rule_w - linear_w}
        if rule_w or linear_w:
            linear = None
            if linear_w:
                linear = LogisticBaseline().fit(matrix(X, self.features_), np.asarray(y).astype(int), sample_weight=sample_weight)
            pop = self._with_anomaly(population, pop_anomaly) if population is not None else X
            scorer = PercentileBlend(base, linear, RULE_SCORE, rule_w, linear_w).fit(matrix(pop, self.features_))
        self.model_ = CalibratedLeadModel(scorer, method=self.calibration)
        if calibrate_on is not None and len(calibrate_on[1]):
            Xc, yc = calibrate_on
            self.model_.fit(matrix(Xc, self.features_), np.asarray(yc).astype(int))
        else:
            self.model_.fit(matrix(X, self.features_), np.asarray(y).astype(int))
        self.classes_ = np.array([0, 1])
        return self

    def _blend_weights(self, X: pd.DataFrame, y: np.ndarray, sample_weight=None) -> tuple[float, float]:
        """(rule weight, linear weight). With ``learned_kappa`` the learned share is n / (n + kappa)
        for n positive enterprises (distinct, not rows) and the rest goes to the rule score; the
        learned share is split between the booster and the linear model as the configured blend
        splits them. Measured on randomised cities (experiments/RESULTS.md)."""
        rule_w = getattr(self, "rule_blend", 0.0) if self.rules_ is not None else 0.0
        linear_w = getattr(self, "linear_blend", 0.0)
        kappa = getattr(self, "learned_kappa", None)
        if kappa is None or self.rules_ is None:
            return rule_w, linear_w
        col = getattr(self, "entity_column", "enterprise_id")
        real = y == 1
        if sample_weight is not None:  # weak or unlabelled rows (weight under 1) are not labels
            real &= np.asarray(sample_weight, dtype=float) >= 1.0
        pos = X.loc[real, col].nunique() if col in X else int(real.sum())
        learned = pos / (pos + kappa)
        linear_share = linear_w / (1.0 - rule_w) if rule_w < 1 else 0.0
        self.learned_share_ = learned
        return 1.0 - learned, learned * linear_share

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self)
        return self.model_.predict_proba(matrix(self._with_anomaly(X), self.features_))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """What each feature brought to the score, from every part of it, the rule score's share
        handed on to the rules tripped (``models.explain``)."""
        check_is_fitted(self)
        frame = self._with_anomaly(X)
        c = self.model_.contributions(matrix(frame, self.features_))
        c.index = X.index
        return expand_rules(c, frame, getattr(self, "rules_", None))

    def reasons(self, X: pd.DataFrame, lang: str = "zh") -> list[list[str]]:
        return render_reasons(self.contributions(X), self._with_anomaly(X), lang)

    def explain(self, X: pd.DataFrame) -> tuple[list[list[str]], list[list[str]]]:
        """Chinese and English reasons from one computation of the contributions."""
        c, frame = self.contributions(X), self._with_anomaly(X)
        return render_reasons(c, frame, "zh"), render_reasons(c, frame, "en")

    def importances(self) -> pd.Series:
        return self.model_.base.importances()  # the booster's, through a rule blend if there is one


class TipLeadModel(EnterpriseLeadModel):
    """As the enterprise model, plus a text score learned from the tips' words (character n-grams).

    The text score of each training tip comes from a scorer that did not see it (``text_folds``-fold
    out-of-fold predictions), so that the trees do not learn to trust an overfitted score. With
    ``tip_rules`` the corroboration rules (``TIP_RULES``, graded) are a feature and, by percentile,
    a part of the score that grows as labels are few (``learned_kappa``, as for enterprises): a tip
    list never rests on a handful of labels alone.
    """

    def __init__(self, features: list[str] | None = None, base: LeadClassifier | None = None,
                 calibration: str = "sigmoid", text_folds: int = 5, tip_rules: bool = False,
                 learned_kappa: float | None = None, monotone: bool = False):
        self.features = features
        self.base = base
        self.calibration = calibration
        self.text_folds = text_folds
        self.tip_rules = tip_rules
        self.learned_kappa = learned_kappa
        self.monotone = monotone

    def _with_text(self, X: pd.DataFrame, scores: np.ndarray) -> pd.DataFrame:
        return X.assign(**{TEXT_SCORE: scores})

    def fit(self, X: pd.DataFrame, y, sample_weight=None, groups=None, calibrate_on: tuple | None = None,
            population: pd.DataFrame | None = None):
        y = np.asarray(y).astype(int)
        texts = X["text"].fillna("").astype(str).to_numpy()
        oof = np.full(len(X), y.mean() if len(y) else 0.5)
        folds = min(self.text_folds, max(2, min(np.bincount(y, minlength=2)))) if len(y) else 2
        idx = np.arange(len(X))
        for f in range(folds):
            test = idx % folds == f
            if test.all() or len(np.unique(y[~test])) < 2:
                continue
            oof[test] = TipTextScorer().fit(texts[~test], y[~test]).predict_proba(texts[test])[:, 1]
        self.text_ = TipTextScorer().fit(texts, y)
        feats = list(self.features) if self.features is not None else [c for c in X.columns if c != "text"]
        if TEXT_SCORE not in feats:
            feats = [*feats, TEXT_SCORE]
        cal = None
        if calibrate_on is not None and len(calibrate_on[1]):
            Xc, yc = calibrate_on
            cal = (self._with_text(Xc, self._text_scores(Xc)), yc)
        with_rules = getattr(self, "tip_rules", False)
        inner = EnterpriseLeadModel(feats, self.base, self.calibration, rules=with_rules, rule_set=TIP_RULES, graded_rules=True,
                                    rule_blend=1.0 if with_rules else 0.0, learned_kappa=getattr(self, "learned_kappa", None),
                                    entity_column="tip_id", monotone=getattr(self, "monotone", False))
        self.anomaly_ = None
        inner.fit(self._with_text(X, oof), y, sample_weight=sample_weight, groups=groups, calibrate_on=cal,
                  population=self._with_text(population, self._text_scores(population)) if population is not None else None)
        self.rules_ = inner.rules_
        self.features_ = inner.features_
        self.model_ = inner.model_
        self.blend_weights_ = getattr(inner, "blend_weights_", None)
        self.classes_ = np.array([0, 1])
        return self

    def _text_scores(self, X: pd.DataFrame) -> np.ndarray:
        return self.text_.predict_proba(X["text"].fillna("").astype(str).to_numpy())[:, 1]

    def _frame(self, X: pd.DataFrame) -> pd.DataFrame:
        """``X`` with the text score and, with ``tip_rules``, the tip rule score."""
        return self._with_anomaly(self._with_text(X, self._text_scores(X)))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self)
        return self.model_.predict_proba(matrix(self._frame(X), self.features_))

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self)
        frame = self._frame(X)
        c = self.model_.contributions(matrix(frame, self.features_))
        c.index = X.index
        return expand_rules(c, frame, getattr(self, "rules_", None))

    def reasons(self, X: pd.DataFrame, lang: str = "zh") -> list[list[str]]:
        return render_reasons(self.contributions(X), self._frame(X), lang)

    def explain(self, X: pd.DataFrame) -> tuple[list[list[str]], list[list[str]]]:
        c, frame = self.contributions(X), self._frame(X)
        return render_reasons(c, frame, "zh"), render_reasons(c, frame, "en")
