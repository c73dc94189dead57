"""Reasons for a score, from the model's own per-feature contributions (LightGBM ``pred_contrib``),
rendered through the feature catalogue's templates with the actual values and evidence pointers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from features.catalogue import CATALOGUE, EVIDENCE_SEP

MAX_REASONS = 4
FALLBACK = {"zh": "多项指标综合偏高", "en": "several indicators jointly elevated"}


def worth_saying(name: str, value: float) -> bool:
    """A feature is worth saying if its value is past its ``min_reason`` in its suspicious direction."""
    spec = CATALOGUE.get(name)
    if spec is None or spec.direction == 0 or value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    if spec.min_reason is None:
        return True
    return value >= spec.min_reason if spec.direction > 0 else value <= spec.min_reason


def render_reasons(contrib: pd.DataFrame, frame: pd.DataFrame, lang: str = "zh", top: int = MAX_REASONS) -> list[list[str]]:
    """For each row of ``contrib`` (feature contributions, same index as ``frame``), the strongest
    positive, worth-saying features rendered as sentences, strongest first."""
    names = [c for c in contrib.columns if c != "bias"]
    values = contrib[names].to_numpy()
    evidence_cols: dict[str, list[str]] = {}
    for c in frame.columns:
        if EVIDENCE_SEP in c:
            evidence_cols.setdefault(c.split(EVIDENCE_SEP, 1)[0], []).append(c)
    out: list[list[str]] = []
    for i, key in enumerate(contrib.index):
        order = np.argsort(-values[i], kind="stable")
        reasons: list[str] = []
        for j in order:
            if values[i, j] <= 0 or len(reasons) >= top:
                break
            name = names[j]
            value = frame.at[key, name] if name in frame.columns else np.nan
            if not worth_saying(name, float(value) if value is not None else np.nan):
                continue
            ev = {c.split(EVIDENCE_SEP, 1)[1]: frame.at[key, c] for c in evidence_cols.get(name, [])}
            reasons.append(CATALOGUE[name].render(float(value), ev, lang))
        out.append(reasons or [FALLBACK[lang]])
    return out


def rule_reasons(hits: pd.DataFrame, rules, lang: str = "zh") -> list[list[str]]:
    """Reasons from the rule baseline: the rules an entity trips, heaviest first."""
    by_weight = sorted(rules, key=lambda r: -r.weight)
    out = []
    for _, row in hits.iterrows():
        rs = [(r.zh if lang == "zh" else r.en) for r in by_weight if bool(row.get(r.feature, False))]
        out.append(rs[:MAX_REASONS] or [FALLBACK[lang]])
    return out
