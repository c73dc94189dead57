"""Fitting one fold: every configured model on the fold's training rows, scored on its test rows."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features.catalogue import CATALOGUE
from models import (
    AnomalyScorer,
    CalibratedLeadModel,
    LeadClassifier,
    LogisticBaseline,
    RandomScorer,
    RuleScorer,
)
from models.baselines import TIP_RULES
from models.bundle import ANOMALY_TREES, EnterpriseLeadModel, TipLeadModel, matrix
from models.propensity import PropensityWeights
from training.config import TrainConfig
from training.labels import enterprise_labels, investigated, tip_labels
from training.splits import TemporalSplit


def enterprise_feature_names(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c in CATALOGUE and CATALOGUE[c].entity == "enterprise"]


def tip_feature_names(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c in CATALOGUE and CATALOGUE[c].entity == "tip" and c != "tip_text_score"]


def label_rows(rows: pd.DataFrame, cases: pd.DataFrame, label_days: int, known_by=None) -> pd.DataFrame:
    """``rows`` (as_of, enterprise_id, ...) with ``label`` (NaN unlabelled) and ``investigated`` columns."""
    out = []
    for d, g in rows.groupby("as_of", sort=True):
        lab = enterprise_labels(cases, d, label_days, known_by=known_by)
        inv = investigated(cases, d, label_days, known_by=known_by)
        g = g.assign(label=g["enterprise_id"].map(lab).astype("float64"),
                     investigated=g["enterprise_id"].isin(inv).astype(int))
        out.append(g)
    return pd.concat(out, ignore_index=True) if out else rows.assign(label=np.nan, investigated=0)


def label_tips(rows: pd.DataFrame, cases: pd.DataFrame, known_by=None) -> pd.DataFrame:
    lab = tip_labels(cases, known_by=known_by)
    return rows.assign(label=rows["tip_id"].map(lab).astype("float64"))


@dataclass
class FoldResult:
    split: TemporalSplit
    enterprise_scores: pd.DataFrame  # as_of, entity_id, label, truth, county, industry_group, <model> scores
    tip_scores: pd.DataFrame
    enterprise_model: EnterpriseLeadModel | None = None
    tip_model: TipLeadModel | None = None
    test_enterprise_rows: pd.DataFrame = field(default_factory=pd.DataFrame)
    test_tip_rows: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: list[str] = field(default_factory=list)
    metric_rows: list[dict] | None = None  # the fold's evaluation, where the process that fitted it made it


def training_rows(fit: pd.DataFrame, config: TrainConfig) -> tuple[pd.DataFrame, np.ndarray, np.ndarray | None]:
    """The rows a lead model learns from, their labels and weights, by ``config.selective_labels``:

    - ``none``: the investigated enterprises only (the contract's reading: the rest are unlabelled);
    - ``propensity``: the same, weighted by the inverse probability of being investigated;
    - ``unlabelled_negative``: every uninvestigated row added as a negative of weight ``unlabelled_weight``
      (positive-unlabelled learning: most of them are clean);
    - ``weak_labels``: every uninvestigated row added twice, as a positive and as a negative, weighted
      ``unlabelled_weight`` x q and x (1 - q), q the served rule score's probability (a Platt fit on the
      labelled rows): the rules as labelling functions beside the cases, as Snorkel combines them.
    """
    feats = enterprise_feature_names(fit)
    fl = fit[fit["label"].notna()]
    y = fl["label"].astype(int).to_numpy()
    if len(np.unique(y)) < 2 or config.selective_labels == "none":
        return fl, y, None
    unl = fit[fit["label"].isna()]
    w = config.unlabelled_weight
    if config.selective_labels == "propensity":
        if fit["investigated"].nunique() < 2:
            return fl, y, None
        pw = PropensityWeights().fit(matrix(fit, feats), fit["investigated"])
        return fl, y, pw.weights(matrix(fl, feats))
    if config.selective_labels == "unlabelled_negative":
        rows = pd.concat([fl, unl.assign(label=0.0)], ignore_index=True)
        return rows, rows["label"].astype(int).to_numpy(), np.concatenate([np.ones(len(fl)), np.full(len(unl), w)])
    from models.fallback import RuleLeadModel

    rules = RuleLeadModel(served_rules(config), anomaly_weight=0.0, graded=True).fit(fit).calibrate(fl, y)
    q = rules.predict_proba(unl)[:, 1]
    rows = pd.concat([fl, unl.assign(label=1.0), unl.assign(label=0.0)], ignore_index=True)
    weights = np.concatenate([np.ones(len(fl)), w * q, w * (1 - q)])
    return rows, rows["label"].astype(int).to_numpy(), weights


def served_rules(config: TrainConfig):
    """The rules the enterprise lists rest on (the rule score in the blend, the rules served alone)."""
    from models.baselines import ACTION_PLAN_RULES, LEAD_RULES

    return LEAD_RULES if config.rule_set == "lead" else ACTION_PLAN_RULES


def lgbm_base(config: TrainConfig, engine: str = "pandas") -> LeadClassifier:
    p = config.lgbm
    cls = LeadClassifier
    if engine == "dask":  # LightGBM's native Dask training on the current Dask client
        from models.lgbm_dask import DaskLeadClassifier as cls
    return cls(objective=p.objective, n_estimators=p.n_estimators, learning_rate=p.learning_rate,
               num_leaves=p.num_leaves, min_child_samples=p.min_child_samples, subsample=p.subsample,
               colsample_bytree=p.colsample_bytree, reg_lambda=p.reg_lambda, random_state=config.seed)


def anomaly_baseline(model: EnterpriseLeadModel | None, fit: pd.DataFrame, feats: list[str], config: TrainConfig) -> AnomalyScorer:
    """The unsupervised baseline: an isolation forest of ``ANOMALY_TREES`` trees, seeded by the config,
    on the fitting dates' rows. The lead model fits that very forest for its anomaly feature when its
    seed is the config's and its features are ``feats`` (same rows, columns, trees and seed: the same
    forest: ``fit_fold`` gives the model ``fit`` as its population), so it is taken from the model
    rather than fitted twice."""
    own = getattr(model, "anomaly_", None) if model is not None else None
    if (own is not None and own.n_estimators == ANOMALY_TREES and own.random_state == config.seed
            and list(model.anomaly_features_) == list(feats)):
        return own
    return AnomalyScorer(n_estimators=ANOMALY_TREES, random_state=config.seed).fit(matrix(fit, feats))


def fit_fold(split: TemporalSplit, ent: pd.DataFrame, tips: pd.DataFrame, cases: pd.DataFrame, config: TrainConfig,
             truth_fn=None, engine: str = "pandas") -> FoldResult:
    """Fit on the split's fit dates, calibrate on its calibration dates, score its test dates."""
    dates = sorted(ent["as_of"].unique())
    fit_d = split.fit_dates(dates, config.splits.fit_every_months)
    cal_d, test_d = split.calibration_dates(dates), split.test_dates(dates)
    horizon = split.label_horizon
    fit = label_rows(ent[ent["as_of"].isin(fit_d)], cases, split.label_days, known_by=horizon)
    cal = label_rows(ent[ent["as_of"].isin(cal_d)], cases, split.label_days, known_by=horizon)
    test = label_rows(ent[ent["as_of"].isin(test_d)], cases, split.label_days)
    feats = enterprise_feature_names(ent)
    notes: list[str] = []
    cl = cal[cal["label"].notna()]
    fl_labelled = fit[fit["label"].notna()]  # the logistic baseline always learns from the labels alone
    y_labelled = fl_labelled["label"].astype(int).to_numpy()
    fl, y, weights = training_rows(fit, config)
    scores = test[["as_of", "enterprise_id", "label", "county", "industry_group"]].rename(columns={"enterprise_id": "entity_id"}).copy()
    if truth_fn is not None:
        scores["truth"] = _truth(test, truth_fn)
    model = None
    if len(np.unique(y)) < 2:
        notes.append(f"{split.name}: the training labels have one class only; no supervised model")
    for name in config.enterprise_models:
        if name == "lgbm" and len(np.unique(y)) == 2:
            model = EnterpriseLeadModel(feats, lgbm_base(config, engine), config.calibration, anomaly=config.anomaly_feature,
                                        rules=config.rule_feature, monotone=config.monotone, rule_blend=config.rule_blend,
                                        linear_blend=config.linear_blend, graded_rules=config.graded_rules,
                                        learned_kappa=config.learned_kappa, rule_set=served_rules(config))
            model.fit(fl, y, sample_weight=weights, groups=fl["as_of"].to_numpy(),
                      calibrate_on=(cl, cl["label"].astype(int).to_numpy()) if cl["label"].nunique() == 2 else None,
                      population=fit)
            scores["lgbm"] = model.predict_proba(test)[:, 1]
        elif name == "logistic" and len(np.unique(y)) == 2:
            lw = weights if config.selective_labels == "propensity" else None  # the labelled rows' own weights only
            lr = LogisticBaseline().fit(matrix(fl_labelled, feats), y_labelled, sample_weight=lw)
            cm = CalibratedLeadModel(lr, config.calibration)
            cm.fit(matrix(cl, feats), cl["label"].astype(int)) if cl["label"].nunique() == 2 else cm.fit(matrix(fl_labelled, feats), y_labelled)
            scores["logistic"] = cm.predict_proba(matrix(test, feats))[:, 1]
        elif name == "rules":
            scores["rules"] = RuleScorer().fit(test).predict_proba(test)[:, 1]
            scores["rules_graded"] = RuleScorer(served_rules(config), graded=True).fit(test).predict_proba(test)[:, 1]
        elif name == "anomaly":
            scores["anomaly"] = anomaly_baseline(model, fit, feats, config).predict_proba(matrix(test, feats))[:, 1]
        elif name == "random":
            scores["random"] = RandomScorer(random_state=config.seed).fit(matrix(test, feats)).predict_proba(matrix(test, feats))[:, 1]
    result = FoldResult(split, scores, pd.DataFrame(), model, None, test, pd.DataFrame(), notes)
    _fit_tips(result, split, tips, cases, config, fit_d, cal_d, test_d, engine)
    return result


def _truth(test: pd.DataFrame, truth_fn) -> np.ndarray | list:
    """The simulated truth of the test rows (``label_rows``' order: by as-of date)."""
    if not len(test):
        return []
    return np.concatenate([truth_fn(g["enterprise_id"], d).to_numpy() for d, g in test.groupby("as_of", sort=True)])


def relabel(result: FoldResult, cases: pd.DataFrame, tips: pd.DataFrame, truth_fn=None) -> FoldResult:
    """A fold fitted by an earlier run (``training.fold_cache``) with its test labels read from
    ``cases`` and its truth from ``truth_fn`` and ``tips``' truth column: what ``fit_fold`` would give
    for the same rows and the cases known by its horizon. Its models and their scores are kept: the
    cases after the horizon cannot change them."""
    split = result.split
    ent = result.test_enterprise_rows
    if len(ent):
        ent = label_rows(ent.drop(columns=["label", "investigated"]), cases, split.label_days)
        scores = result.enterprise_scores.copy()
        scores["label"] = ent["label"].to_numpy()
        if truth_fn is not None:
            scores["truth"] = _truth(ent, truth_fn)
        result.enterprise_scores, result.test_enterprise_rows = scores, ent
    tip = result.test_tip_rows
    if len(tip):
        tip = label_tips(tip.drop(columns=["label"]), cases)
        scores = result.tip_scores.copy()
        scores["label"] = tip["label"].to_numpy()
        if "truth" in scores and "truth" in tips:
            truth = tips.drop_duplicates("tip_id").set_index("tip_id")["truth"]
            tip = tip.assign(truth=tip["tip_id"].map(truth).to_numpy())
            scores["truth"] = tip["truth"].to_numpy()
        result.tip_scores, result.test_tip_rows = scores, tip
    result.metric_rows = None
    return result


def _fit_tips(result: FoldResult, split: TemporalSplit, tips: pd.DataFrame, cases: pd.DataFrame, config: TrainConfig,
              fit_d, cal_d, test_d, engine: str = "pandas") -> None:
    if tips.empty:
        return
    horizon = split.label_horizon
    # every tip up to the last fitting date, or up to the cut when no calibration dates stand between
    # (a tip is one row, at the first as-of date after it came in: thinning the fitting dates must not
    # drop tips, and no tip is both a training and a test row); labels are known by the horizon
    limit = max(fit_d) if cal_d or not fit_d else horizon
    fit = label_tips(tips[tips["as_of"] <= limit], cases, known_by=horizon) if fit_d else tips.iloc[:0].assign(label=np.nan)
    cal = label_tips(tips[tips["as_of"].isin(cal_d)], cases, known_by=horizon)
    test = label_tips(tips[tips["as_of"].isin(test_d)], cases)
    fl, cl = fit[fit["label"].notna()], cal[cal["label"].notna()]
    y = fl["label"].astype(int).to_numpy()
    feats = tip_feature_names(tips)
    scores = test[["as_of", "tip_id", "label", "county"]].rename(columns={"tip_id": "entity_id"}).copy()
    if "truth" in tips:
        scores["truth"] = test["truth"].to_numpy()
    for name in config.tip_models:
        if name == "lgbm" and len(np.unique(y)) == 2:
            model = TipLeadModel(feats, lgbm_base(config, engine).set_params(min_child_samples=min(config.lgbm.min_child_samples, 10)),
                                 config.calibration, tip_rules=config.tip_rules, learned_kappa=config.tip_learned_kappa,
                                 monotone=config.monotone)
            model.fit(fl, y, calibrate_on=(cl, cl["label"].astype(int).to_numpy()) if cl["label"].nunique() == 2 else None,
                      population=fit)
            scores["lgbm"] = model.predict_proba(test)[:, 1] if len(test) else []
            result.tip_model = model
        elif name == "rules":
            scores["rules"] = RuleScorer(TIP_RULES, graded=True).fit(test).predict_proba(test)[:, 1] if len(test) else []
        elif name == "channel":
            rate = fl.groupby("channel")["label"].mean()
            scores["channel"] = test["channel"].map(rate).fillna(fl["label"].mean() if len(fl) else 0.0).to_numpy()
        elif name == "random":
            scores["random"] = np.random.default_rng(config.seed).random(len(test))
    if len(np.unique(y)) < 2:
        result.notes.append(f"{split.name}: tip labels have one class only; no tip model")
    result.tip_scores = scores
    result.test_tip_rows = test
