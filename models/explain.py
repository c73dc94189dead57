"""Reasons for a score, from every part of it, rendered through the feature catalogue's templates
with the actual values and pointers to the evidence rows.

A lead's score mixes the rule score, a linear model and a booster (``models.blend``); its
contributions say how much of the score each feature brought, from each part. The rule score's
share is handed on to the rules the entity trips (their own features, with their own values and
evidence pointers), so a lead never reads "trips several rules" but "12.4 t unaccounted for, largest
in 2021-03 900-249-08". Reasons are the strongest worth-saying features first, at most four; where
the model attributes nothing worth saying, the features past their thresholds are said anyway
(most extreme first); only where no feature is past its threshold does the lead say it was ranked
on weak signals.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from features.catalogue import CATALOGUE, EVIDENCE_SEP

MAX_REASONS = 4
MIN_SHARE = 0.02  # a feature bringing less than this share of a row's attributed score is not a reason
MIN_ABSOLUTE = 0.005
WEAK = {"zh": "未见超过阈值的指标，按多项弱信号综合排序", "en": "no indicator past its threshold: ranked on several weak signals"}
FALLBACK = WEAK  # the sentence a lead gets when nothing is worth saying
RULE_COLUMN = "rule_score"


def worth_saying(name: str, value: float) -> bool:
    """A feature is worth saying if its value is past its ``min_reason`` in its suspicious direction."""
    spec = CATALOGUE.get(name)
    if spec is None or spec.direction == 0 or value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    if spec.min_reason is None:
        return True
    return value >= spec.min_reason if spec.direction > 0 else value <= spec.min_reason


def _past(name: str, value: float) -> float:
    """How far past its threshold a worth-saying value is (ratio, >= 1), for ordering unattributed reasons."""
    spec = CATALOGUE[name]
    if spec.min_reason in (None, 0):
        return 1.0 + abs(value)
    return abs(value / spec.min_reason) if spec.direction > 0 else abs(spec.min_reason / value) if value else 1e6


def expand_rules(contrib: pd.DataFrame, frame: pd.DataFrame, scorer, rule_column: str = RULE_COLUMN) -> pd.DataFrame:
    """Hand each row's ``rule_column`` contribution on to the rules it trips (by their weights), or,
    where it trips none, to the rules' features by how far each went toward its threshold."""
    if scorer is None or rule_column not in contrib.columns:
        return contrib
    out = contrib.copy()
    share = out[rule_column].to_numpy(dtype=float)
    rules = getattr(scorer, "rules_used_", ())
    if not rules:
        return out
    hits = scorer.hits(frame).to_numpy(dtype=float)
    w = np.array([r.weight for r in rules])
    tripped = hits * w
    margins = np.column_stack([np.clip(np.log1p(np.clip(pd.to_numeric(frame[r.feature], errors="coerce").fillna(0.0).to_numpy(float), 0, None)
                                                / r.threshold) / np.log(11.0), 0.0, 1.0) for r in rules]) * w
    weights = np.where(tripped.sum(axis=1, keepdims=True) > 0, tripped, margins)
    total = weights.sum(axis=1, keepdims=True)
    alloc = np.where(total > 0, weights / np.where(total > 0, total, 1.0), 0.0) * np.clip(share, 0, None)[:, None]
    for j, r in enumerate(rules):
        if r.feature not in out.columns:
            out[r.feature] = 0.0
        out[r.feature] = out[r.feature].to_numpy(dtype=float) + alloc[:, j]
    out[rule_column] = np.where(total[:, 0] > 0, 0.0, share)
    return out


def _evidence_columns(frame: pd.DataFrame) -> dict[str, list[str]]:
    cols: dict[str, list[str]] = {}
    for c in frame.columns:
        if EVIDENCE_SEP in c:
            cols.setdefault(c.split(EVIDENCE_SEP, 1)[0], []).append(c)
    return cols


def _render(name: str, key, frame: pd.DataFrame, evidence_cols: dict[str, list[str]], lang: str) -> str:
    value = frame.at[key, name]
    ev = {c.split(EVIDENCE_SEP, 1)[1]: frame.at[key, c] for c in evidence_cols.get(name, [])}
    return CATALOGUE[name].render(float(value), ev, lang)


def render_reasons(contrib: pd.DataFrame, frame: pd.DataFrame, lang: str = "zh", top: int = MAX_REASONS) -> list[list[str]]:
    """For each row of ``contrib`` (feature contributions, same index as ``frame``), the strongest
    positive, worth-saying features rendered as sentences, strongest first; then features past
    their thresholds the model did not credit; else the weak-signal sentence."""
    names = [c for c in contrib.columns if c != "bias" and c in CATALOGUE]
    values = contrib[names].to_numpy(dtype=float) if names else np.zeros((len(contrib), 0))
    evidence_cols = _evidence_columns(frame)
    candidates = [c for c in frame.columns if c in CATALOGUE and CATALOGUE[c].direction != 0 and c not in (RULE_COLUMN,)]
    out: list[list[str]] = []
    for i, key in enumerate(contrib.index):
        said: list[str] = []
        seen: set[str] = set()
        # what the score does not rest on is not said: under 2% of the row's attribution, or under 0.005
        # (half a percentile point of a blend, a negligible log-odds term of a booster)
        floor = max(MIN_SHARE * float(np.clip(values[i], 0.0, None).sum()), MIN_ABSOLUTE)
        for j in np.argsort(-values[i], kind="stable"):
            if values[i, j] <= floor or len(said) >= top:
                break
            name = names[j]
            value = frame.at[key, name] if name in frame.columns else np.nan
            if name in seen or not worth_saying(name, _float(value)):
                continue
            said.append(_render(name, key, frame, evidence_cols, lang))
            seen.add(name)
        if not said:
            past = [(c, _float(frame.at[key, c])) for c in candidates if worth_saying(c, _float(frame.at[key, c]))]
            past.sort(key=lambda cv: -_past(cv[0], cv[1]))
            said = [_render(c, key, frame, evidence_cols, lang) for c, _ in past[:top]]
        out.append(said or [WEAK[lang]])
    return out


def _float(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")
