"""On the simulated small city, with the champion a training run registered: no enterprise in the top
50 that trips an action-plan rule or has a feature past its reason threshold reads the weak-signal
sentence (or the old generic one), and such leads' reasons carry a value with its unit."""

from __future__ import annotations

import json
import re

import pytest

pytestmark = pytest.mark.slow
GENERIC = "多项指标综合偏高"  # the sentence every lead once carried
VALUE_WITH_UNIT = re.compile(r"\d(\.\d)?\s*(吨|次|%|千瓦时|kWh|小时|米|公里|天|张|家|辆|倍|条|个)")


def test_top_50_enterprises_with_a_rule_or_a_threshold_passed_never_read_the_generic_sentence(trained_home, small_snapshot):
    from features import load_snapshot
    from features.build import build
    from models.baselines import ACTION_PLAN_RULES, RuleScorer
    from models.explain import WEAK, worth_saying
    from training import registry
    from training.score import score_snapshot

    _, settings, result = trained_home
    registry.configure(settings)
    champion = registry.load_version("enterprise", alias=registry.CHAMPION, cache=settings.models_dir)
    snap = load_snapshot(small_snapshot)
    fs = build(snap, result.as_of)
    leads = score_snapshot(snap, result.as_of, champion.model, None, {"enterprise": champion.version}, "small", features=fs)
    X = fs.enterprise
    tripped = RuleScorer(ACTION_PLAN_RULES).fit(X).hits(X).any(axis=1)
    top = leads.enterprise[~leads.enterprise["exploration"].astype(bool)].sort_values("rank").head(50)
    checked, bad = 0, []
    for eid, reasons_json in zip(top["enterprise_id"], top["reasons"], strict=True):
        reasons = json.loads(reasons_json)
        past = [c for c in X.columns if "@" not in c and worth_saying(c, _num(X.at[eid, c]))]
        if not (tripped.get(eid, False) or past):
            continue
        checked += 1
        if WEAK["zh"] in reasons or any(GENERIC in r for r in reasons):
            bad.append((eid, reasons, past[:5]))
        elif tripped.get(eid, False) and not any(VALUE_WITH_UNIT.search(r) for r in reasons):
            bad.append((eid, reasons, "no value with a unit"))
    assert checked >= 20, checked  # the test must be about many leads, not a lucky few
    assert bad == [], bad[:5]


def _num(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")
