"""Experiment configurations: one TOML file per experiment, validated before any work starts."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from training.labels import LABEL_DAYS

EnterpriseModelName = Literal["lgbm", "logistic", "rules", "anomaly", "random"]
TipModelName = Literal["lgbm", "rules", "channel", "random"]


class LgbmParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    objective: Literal["binary", "lambdarank"] = "binary"
    n_estimators: int = Field(300, ge=10, le=5000)
    learning_rate: float = Field(0.03, gt=0, le=1)
    num_leaves: int = Field(15, ge=2, le=1024)
    min_child_samples: int = Field(20, ge=1)
    subsample: float = Field(0.8, gt=0, le=1)
    colsample_bytree: float = Field(0.8, gt=0, le=1)
    reg_lambda: float = Field(1.0, ge=0)


class SplitParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # "holdout": each fold trains on every as-of date up to its cut with labels known by the cut, and
    # tests on the next ``holdout_days`` (training.splits.HoldoutSplit); "rolling": a full label
    # window left empty between training and test (TemporalSplit), which needs years of history
    scheme: Literal["holdout", "rolling"] = "holdout"
    holdout_days: int = Field(150, ge=28, le=720)
    holdout_step_days: int = Field(60, ge=14)
    n_folds: int = Field(3, ge=1, le=12)
    test_days: int = Field(90, ge=28)
    step_days: int = Field(90, ge=28)
    calib_days: int = Field(90, ge=0)
    label_days: int = Field(LABEL_DAYS, ge=30, le=730)
    min_label_days: int = Field(60, ge=0)
    min_history_days: int = Field(90, ge=0)
    fit_every_months: int = Field(2, ge=1, le=12, description="fit on every n-th month end (neighbours are near duplicates)")


class TrainConfig(BaseModel):
    """What one ``hazleads train`` run does. Unknown keys are errors (a typo must not be ignored)."""

    model_config = ConfigDict(extra="forbid")
    name: str = "default"
    description: str = ""
    enterprise_models: list[EnterpriseModelName] = ["lgbm", "logistic", "rules", "anomaly", "random"]
    tip_models: list[TipModelName] = ["lgbm", "rules", "channel", "random"]
    lgbm: LgbmParams = LgbmParams()
    # Only investigated enterprises have labels. "propensity" reweights them by the inverse probability of
    # being investigated; "unlabelled_negative" adds every uninvestigated enterprise-date as a negative of
    # weight ``unlabelled_weight`` (most are clean; the model then also learns how the investigated differ
    # from the rest; the contract asks to treat them as unlabelled, and with the rule blend it measured no
    # better). Measured in experiments/RESULTS.md.
    selective_labels: Literal["none", "propensity", "unlabelled_negative", "weak_labels"] = "none"
    unlabelled_weight: float = Field(0.05, gt=0, le=1)
    anomaly_feature: bool = True
    rule_feature: bool = True
    # the rule score's ties broken by how far values go toward or past each threshold (RuleScorer graded)
    graded_rules: bool = True
    # the rules the served lists rest on: the action plan's, or with an officer's (a violation confirmed
    # in the last year, recent tips naming the enterprise: models.baselines.OFFICER_RULES)
    rule_set: Literal["action_plan", "lead"] = "lead"
    # the learned share of the blend: n / (n + learned_kappa) for n positive enterprises among the labels
    # (the rest goes to the rule score); None: the blend weights as given
    learned_kappa: float | None = Field(100.0, gt=0)
    # the model put in service is refitted on every label known at the as-of date (the folds only
    # evaluate the recipe); false: the latest fold's own model is served
    refit: bool = True
    # serve the (graded) rules instead of a learned model that does not beat them on the latest fold
    gate_rules: bool = True
    # tips: the corroboration rules (graded) as a feature and a share of the score, n / (n + kappa) learned
    tip_rules: bool = True
    tip_learned_kappa: float | None = Field(30.0, gt=0)
    # the booster's percentile blended with the rule score's (needs rule_feature) and a logistic regression's
    # on the same labels; the booster keeps 1 - rule_blend - linear_blend. 0 and 0 = the booster alone
    rule_blend: float = Field(1 / 3, ge=0, le=1)
    linear_blend: float = Field(1 / 3, ge=0, le=1)
    monotone: bool = True
    calibration: Literal["sigmoid", "isotonic"] = "sigmoid"
    splits: SplitParams = SplitParams()
    k: int = Field(20, ge=1, le=1000)
    seed: int = 0

    @model_validator(mode="after")
    def _blend_weights(self):
        if self.rule_blend + self.linear_blend > 1 + 1e-9:
            raise ValueError(f"rule_blend + linear_blend must be at most 1, got {self.rule_blend} + {self.linear_blend}")
        if self.rule_blend and not self.rule_feature:
            raise ValueError("rule_blend needs rule_feature = true (the blend reads the rule score the model computes)")
        return self


class ConfigError(ValueError):
    pass


def load_config(path: str | Path | None) -> TrainConfig:
    """Read and validate a TOML experiment file; ``None`` gives the defaults."""
    if path is None:
        return TrainConfig()
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such experiment file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None
    try:
        return TrainConfig.model_validate(data)
    except ValidationError as exc:
        lines = [f"{p}: {'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise ConfigError("\n".join(lines)) from None
