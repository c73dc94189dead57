"""Recipes compared on the randomised worlds (``experiments.worlds``), and the baselines beside them.

A recipe is a function ``(world: WorldContext) -> (enterprise scores, tip scores, notes)``: it may
learn only from what is known at T (cases opened on or before T, features at as-of dates on or
before T) and returns one score per row of ``world.features.enterprise`` and of ``world.open_tips``. ``production`` is exactly what ``hazleads
train`` + ``hazleads score`` do with the default configuration.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from training.config import TrainConfig


@dataclass
class WorldContext:
    snap: object  # features.snapshot.Snapshot
    path: Path  # the snapshot folder
    cache: Path  # the world's feature cache
    dataset: object  # training.dataset.Dataset at every month end up to T
    features: object  # features.build.FeatureSet at T
    open_tips: pd.DataFrame  # tips known at T that no case has taken up
    as_of: pd.Timestamp


Recipe = Callable[[WorldContext], tuple[np.ndarray | None, np.ndarray | None, list[str]]]


def _cases_known(snap, as_of) -> pd.DataFrame:
    c = snap.cases
    return c[c["opened"] <= pd.Timestamp(as_of)]


def train_at(w: WorldContext, config: TrainConfig):
    """``train_models`` as ``hazleads train --as-of T`` runs it (features from the world's cache)."""
    from features.snapshot import snapshot_digest
    from training.dataset import build_dataset
    from training.pipeline import plan_dates, train_models

    _first, _sp, _dates, folds, needed, notes = plan_dates(w.snap, w.as_of, config)
    dataset, _ = build_dataset(w.snap, needed, snapshot_digest(w.path), cache_dir=w.cache)
    results, _metrics, choices, more = train_models(dataset, _cases_known(w.snap, w.as_of), folds, config, as_of=w.as_of)
    return results, choices, notes + more


def config_recipe(config: TrainConfig) -> Recipe:
    """The production path with ``config``: the models ``hazleads train`` would register score the lists at T."""

    def recipe(w: WorldContext):
        _results, choices, notes = train_at(w, config)
        chosen = {c.kind: c.model for c in choices}
        ent = chosen["enterprise"].predict_proba(w.features.enterprise)[:, 1] if chosen.get("enterprise") is not None else None
        tip = None
        if chosen.get("tip") is not None and len(w.open_tips):
            tip = chosen["tip"].predict_proba(w.open_tips)[:, 1]
        return ent, tip, notes

    return recipe


def baseline_scores(w: WorldContext) -> dict[str, tuple[np.ndarray | None, np.ndarray | None]]:
    """The lists a deployment could make without learning: rules, anomaly, random; channel-only tips."""
    from models.baselines import ACTION_PLAN_RULES, AnomalyScorer, Rule, RuleScorer
    from models.bundle import matrix
    from models.fallback import TIP_RULES, RuleLeadModel

    RECIDIVISM = (Rule("confirmed_cases_365d", 1.0, 3.0, "近一年已查实", "confirmed in the last year"),
                  Rule("tips_naming_90d", 1.0, 1.0, "被举报", "named in tips"))
    from training.fit import enterprise_feature_names
    from training.labels import tip_labels

    fs, open_tips = w.features, w.open_tips
    ent = fs.enterprise
    feats = enterprise_feature_names(ent)
    rng = np.random.default_rng(0)
    out: dict[str, tuple] = {
        "rules": (RuleScorer().fit(ent).predict_proba(ent)[:, 1], None),
        "rules_graded": (RuleScorer(graded=True).fit(ent).predict_proba(ent)[:, 1], None),
        "rules_lm": (label_model_scores(ent), None),
        "rules_officer": (RuleScorer(ACTION_PLAN_RULES + RECIDIVISM, graded=True).fit(ent).predict_proba(ent)[:, 1], None),
        "rules_graded_anom": (graded_with_anomaly(ent, feats), None),
        "anomaly": (AnomalyScorer(n_estimators=100).fit(matrix(ent, feats)).predict_proba(matrix(ent, feats))[:, 1], None),
        "random": (rng.random(len(ent)), rng.random(len(open_tips))),
    }
    if len(open_tips):
        lab = tip_labels(_cases_known(w.snap, w.as_of), known_by=w.as_of)
        known = fs.tip[fs.tip.index.isin(lab.index)]
        rate = lab.reindex(known.index).groupby(known["channel"]).mean()
        prior = float(lab.mean()) if len(lab) else 0.0
        out["channel"] = (None, open_tips["channel"].map(rate).fillna(prior).to_numpy(float))
        out["tip_rules"] = (None, RuleLeadModel(TIP_RULES, anomaly_weight=0.0).fit(open_tips).predict_proba(open_tips)[:, 1])
    return out


RECIPES: dict[str, Recipe] = {
    "production": config_recipe(TrainConfig()),
    "production_nogate": config_recipe(TrainConfig(gate_rules=False)),
    "production_tipk100": config_recipe(TrainConfig(tip_learned_kappa=100.0)),
    "production_actionplan": config_recipe(TrainConfig(rule_set="action_plan")),
    "production_k30": config_recipe(TrainConfig(learned_kappa=30.0)),
    "production_pu": config_recipe(TrainConfig(selective_labels="unlabelled_negative")),
    "production_weak": config_recipe(TrainConfig(selective_labels="weak_labels")),
    "production_propensity": config_recipe(TrainConfig(selective_labels="propensity")),
    "previous": config_recipe(TrainConfig(splits={"scheme": "rolling"}, graded_rules=False, learned_kappa=None, refit=False,
                                          gate_rules=False, tip_rules=False, tip_models=["lgbm", "channel", "random"])),
}
DEFAULT_RECIPES = ("production",)


# ---- candidates: refit on every label known at T ---------------------------------------------


def refit_rows(w: WorldContext, label_days: int = 180, min_label_days: int = 30, every: int = 1):
    """Enterprise rows at month ends up to T - ``min_label_days`` with labels known by T."""
    from training.fit import label_rows

    ent = w.dataset.enterprise
    dates = sorted(d for d in ent["as_of"].unique() if d <= w.as_of - pd.Timedelta(days=min_label_days))
    dates = dates[::-1][::every][::-1]
    return label_rows(ent[ent["as_of"].isin(dates)], _cases_known(w.snap, w.as_of), label_days, known_by=w.as_of)


def refit_recipe(config: TrainConfig, shrink: float | None = None, every: int = 1) -> Recipe:
    """The production model refitted on every label known at T; with ``shrink`` = kappa, the
    learned share of the blend is n_pos / (n_pos + kappa) and the rest goes to the rule score."""
    from models.bundle import EnterpriseLeadModel
    from training.fit import enterprise_feature_names, lgbm_base

    def recipe(w: WorldContext):
        fit = refit_rows(w, every=every)
        fl = fit[fit["label"].notna()]
        y = fl["label"].astype(int).to_numpy()
        if len(np.unique(y)) < 2:
            return None, None, ["one class"]
        rule_w, lin_w = config.rule_blend, config.linear_blend
        notes = [f"{int(y.sum())} positive, {int((1 - y).sum())} negative rows"]
        if shrink is not None:
            learned = y.sum() / (y.sum() + shrink)
            rule_w, lin_w = 1 - learned, learned / 2
            notes.append(f"learned share {learned:.2f}")
        feats = enterprise_feature_names(w.dataset.enterprise)
        m = EnterpriseLeadModel(feats, lgbm_base(config), config.calibration, anomaly=config.anomaly_feature,
                                rules=config.rule_feature, monotone=config.monotone, rule_blend=rule_w, linear_blend=lin_w,
                                graded_rules=config.graded_rules)
        m.fit(fl, y, population=fit)
        return m.predict_proba(w.features.enterprise)[:, 1], None, notes

    return recipe


RECIPES.update({
    "refit": refit_recipe(TrainConfig()),
    "refit_shrink30": refit_recipe(TrainConfig(), shrink=30.0),
    "refit_shrink100": refit_recipe(TrainConfig(), shrink=100.0),
    "refit_rulehalf": refit_recipe(TrainConfig(rule_blend=0.5, linear_blend=0.25)),
    "refit_g": refit_recipe(TrainConfig(graded_rules=True)),
    "refit_g_shrink30": refit_recipe(TrainConfig(graded_rules=True), shrink=30.0),
    "refit_g_shrink100": refit_recipe(TrainConfig(graded_rules=True), shrink=100.0),
})


# ---- candidates: the rules as a prior, learned corrections ----------------------------------


def prior_recipe(graded: bool = True, unlabelled_weight: float = 0.0, **params) -> Recipe:
    """RulePriorBooster on every label known at T (models/prior.py)."""
    from models.baselines import AnomalyScorer, RuleScorer
    from models.bundle import matrix, monotone_directions
    from models.prior import RulePriorBooster
    from training.fit import enterprise_feature_names

    def recipe(w: WorldContext):
        fit = refit_rows(w)
        feats = enterprise_feature_names(w.dataset.enterprise)
        rules = RuleScorer(graded=graded).fit(fit)
        anomaly = AnomalyScorer(n_estimators=100).fit(matrix(fit, feats))

        def design(frame):
            m = matrix(frame, feats)
            m["rule_score"] = rules.predict_proba(frame)[:, 1]
            m["anomaly_score"] = anomaly.predict_proba(matrix(frame, feats))[:, 1]
            return m

        rows = fit if unlabelled_weight else fit[fit["label"].notna()]
        y = rows["label"].fillna(0).astype(int).to_numpy()
        wts = np.where(rows["label"].notna(), 1.0, unlabelled_weight) if unlabelled_weight else None
        if len(np.unique(y[rows["label"].notna().to_numpy()])) < 2:
            return rules.predict_proba(w.features.enterprise)[:, 1], None, ["one class: rules"]
        cols = [*feats, "rule_score", "anomaly_score"]
        m = RulePriorBooster(monotone=monotone_directions(cols) | {"rule_score": 1, "anomaly_score": 1}, **params)
        m.fit(design(rows), y, groups=rows["as_of"].to_numpy(), sample_weight=wts)
        notes = [f"{int(y.sum())} pos rows, {m.n_trees_} trees, prior coef {np.round(m.prior_coef_, 2).tolist()}"]
        return m.predict_proba(design(w.features.enterprise))[:, 1], None, notes

    return recipe


RECIPES.update({
    "prior": prior_recipe(),
    "prior_binary": prior_recipe(graded=False),
    "prior_u02": prior_recipe(unlabelled_weight=0.02),
    "prior_fast": prior_recipe(learning_rate=0.1, patience=20),
})


# ---- candidates: learned only where the latest labels say it beats the graded rules ----------


def _fit_blend(fit: pd.DataFrame, feats: list[str], config: TrainConfig, shrink: float | None):
    from models.bundle import EnterpriseLeadModel
    from training.fit import lgbm_base

    fl = fit[fit["label"].notna()]
    y = fl["label"].astype(int).to_numpy()
    if len(np.unique(y)) < 2:
        return None
    rule_w, lin_w = config.rule_blend, config.linear_blend
    if shrink is not None:
        learned = y.sum() / (y.sum() + shrink)
        rule_w, lin_w = 1 - learned, learned / 2
    m = EnterpriseLeadModel(feats, lgbm_base(config), config.calibration, anomaly=config.anomaly_feature,
                            rules=config.rule_feature, monotone=config.monotone, rule_blend=rule_w, linear_blend=lin_w,
                            graded_rules=config.graded_rules)
    return m.fit(fl, y, population=fit)


def holdout_rows(w: WorldContext, holdout_days: int, label_days: int = 180, min_label_days: int = 30):
    """(train, test): train rows are as-of dates <= T - holdout with labels from cases opened by then;
    test rows are as-of dates in (T - holdout, T - min_label_days] labelled by cases opened after them, up to T."""
    from training.fit import label_rows

    ent = w.dataset.enterprise
    cut = w.as_of - pd.Timedelta(days=holdout_days)
    cases = _cases_known(w.snap, w.as_of)
    train_d = [d for d in ent["as_of"].unique() if d <= cut - pd.Timedelta(days=min_label_days)]
    test_d = [d for d in ent["as_of"].unique() if cut < d <= w.as_of - pd.Timedelta(days=min_label_days)]
    train = label_rows(ent[ent["as_of"].isin(train_d)], cases, label_days, known_by=cut)
    test = label_rows(ent[ent["as_of"].isin(test_d)], cases, label_days, known_by=w.as_of)
    return train, test


def labelled_ap(test: pd.DataFrame, scores: np.ndarray) -> float:
    from training.evaluate import ap

    t = test.assign(score=scores)
    t = t[t["label"].notna()]
    vals = [ap(g["label"], g["score"]) for _, g in t.groupby("as_of") if g["label"].nunique() == 2]
    return float(np.mean(vals)) if vals else float("nan")


def gated_recipe(config: TrainConfig, shrink: float | None = 100.0, holdout_days: int = 120, margin: float = 0.0) -> Recipe:
    from models.baselines import RuleScorer
    from training.fit import enterprise_feature_names

    def recipe(w: WorldContext):
        feats = enterprise_feature_names(w.dataset.enterprise)
        rules = RuleScorer(graded=True).fit(w.features.enterprise)
        fallback = rules.predict_proba(w.features.enterprise)[:, 1]
        train, test = holdout_rows(w, holdout_days)
        probe = _fit_blend(train, feats, config, shrink)
        if probe is None:
            return fallback, None, ["gate: no learned probe (one class)"]
        a_learned = labelled_ap(test, probe.predict_proba(test)[:, 1])
        a_rules = labelled_ap(test, rules.predict_proba(test)[:, 1])
        note = f"gate: learned {a_learned:.3f} vs graded rules {a_rules:.3f} on {int(test['label'].notna().sum())} rows"
        if not (a_learned > a_rules + margin):
            return fallback, None, [note + " -> rules"]
        final = _fit_blend(refit_rows(w), feats, config, shrink)
        return final.predict_proba(w.features.enterprise)[:, 1], None, [note + " -> learned"]

    return recipe


RECIPES.update({
    "gated": gated_recipe(TrainConfig(graded_rules=True)),
    "gated_noshrink": gated_recipe(TrainConfig(graded_rules=True), shrink=None),
    "gated_h180": gated_recipe(TrainConfig(graded_rules=True), holdout_days=180),
})


# ---- candidates without labels: weighting the rules by how they agree -------------------------


def label_model_scores(ent: pd.DataFrame, iters: int = 200) -> np.ndarray:
    """A two-class latent model of the rule hits (each rule a labelling function that fires or not,
    independent given the class), fitted by EM on the whole population: the posterior of the
    'violating' class, ties broken by the graded margins. Snorkel's label model in its simplest form."""
    from models.baselines import RuleScorer

    rs = RuleScorer(graded=True).fit(ent)
    H = rs.hits(ent).to_numpy(dtype=float)
    base = rs.predict_proba(ent)[:, 1]
    top = base >= np.quantile(base, 0.9)
    post = np.where(top, 0.9, 0.05)
    for _ in range(iters):
        pi = np.clip(post.mean(), 1e-3, 0.5)
        a = (post @ H + 1) / (post.sum() + 2)
        b = ((1 - post) @ H + 1) / ((1 - post).sum() + 2)
        a = np.maximum(a, b)
        la = np.log(pi) + H @ np.log(a) + (1 - H) @ np.log(1 - a)
        lb = np.log(1 - pi) + H @ np.log(b) + (1 - H) @ np.log(1 - b)
        new = 1 / (1 + np.exp(lb - la))
        if np.max(np.abs(new - post)) < 1e-8:
            post = new
            break
        post = new
    return np.round(post, 9) + 1e-6 * rs.margins(ent)


def graded_with_anomaly(ent: pd.DataFrame, feats: list[str]) -> np.ndarray:
    """The binary rule share, ties broken half by the graded margins and half by the anomaly rank."""
    from models.baselines import AnomalyScorer, RuleScorer
    from models.bundle import matrix

    rs = RuleScorer().fit(ent)
    w = np.array([r.weight for r in rs.rules_used_])
    step = w.min() / w.sum()
    anomaly = AnomalyScorer(n_estimators=100).fit(matrix(ent, feats)).predict_proba(matrix(ent, feats))[:, 1]
    return rs.predict_proba(ent)[:, 1] + 0.5 * step * (0.5 * rs.margins(ent) + 0.5 * anomaly)
