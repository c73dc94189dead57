"""The feature catalogue: every feature declared once (name, entity, source, unit, meaning, reason).

Explanations, the API's documentation and the web page all read this; nobody repeats a feature's
meaning elsewhere. A feature module declares its features with ``register`` at import time.

Evidence pointers travel beside a feature in the same frame as columns named
``<feature>@<field>`` (for example ``ledger_gap_max_t@month``); reason templates may use
``{value}`` and any ``{<field>}`` of their feature. Models ignore columns that contain ``@``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import pandas as pd

Entity = Literal["enterprise", "tip", "site", "vehicle"]
EVIDENCE_SEP = "@"


@dataclass(frozen=True)
class FeatureSpec:
    name: str
    entity: Entity
    source: str  # ledgers, electricity, manifests, licences, trajectories, tips, network, profile
    unit: str  # t, kWh, share, count, m, days, hours, ratio, "" (a flag or score)
    description_zh: str
    description_en: str
    reason_zh: str  # e.g. "{month} {waste_code} 台账缺口 {value:.1f} 吨"
    reason_en: str
    direction: int = 1  # +1: a higher value is more suspicious; -1: lower; 0: neither (context only)
    min_reason: float | None = None  # below this (in the suspicious direction) the reason is not worth saying

    def render(self, value: float, evidence: dict | None = None, lang: str = "zh") -> str:
        template = self.reason_zh if lang == "zh" else self.reason_en
        fields = {k: _tidy(v) for k, v in (evidence or {}).items()}
        try:
            return template.format(value=value, **fields)
        except (KeyError, ValueError, IndexError, TypeError):
            desc = self.description_zh if lang == "zh" else self.description_en
            return f"{desc}: {value:.3g}"


def _tidy(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "?"
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d %H:%M") if (v.hour or v.minute) else v.strftime("%Y-%m-%d")
    if isinstance(v, pd.Period):
        return str(v)
    return v


CATALOGUE: dict[str, FeatureSpec] = {}


def register(*specs: FeatureSpec) -> None:
    for spec in specs:
        if spec.name in CATALOGUE and CATALOGUE[spec.name] != spec:
            raise ValueError(f"feature {spec.name} is declared twice, differently")
        if EVIDENCE_SEP in spec.name:
            raise ValueError(f"feature name {spec.name!r} may not contain {EVIDENCE_SEP!r}")
        CATALOGUE[spec.name] = spec


def feature(name: str, entity: Entity, source: str, unit: str, zh: str, en: str, reason_zh: str, reason_en: str,
            direction: int = 1, min_reason: float | None = None) -> FeatureSpec:
    """Declare and register one feature; returns its spec."""
    spec = FeatureSpec(name, entity, source, unit, zh, en, reason_zh, reason_en, direction, min_reason)
    register(spec)
    return spec


def model_columns(frame: pd.DataFrame) -> list[str]:
    """The columns a model may use: declared features, not evidence pointers."""
    return [c for c in frame.columns if EVIDENCE_SEP not in c and c in CATALOGUE]


def evidence_for(frame: pd.DataFrame, name: str) -> list[str]:
    prefix = name + EVIDENCE_SEP
    return [c for c in frame.columns if c.startswith(prefix)]


def as_table(entity: Entity | None = None) -> pd.DataFrame:
    """The catalogue as a table (for docs and the web page)."""
    rows = [spec.__dict__ for spec in CATALOGUE.values() if entity is None or spec.entity == entity]
    return pd.DataFrame(rows)


feature("anomaly_score", "enterprise", "model", "share",
        "无监督异常程度（与全体企业相比）", "how unusual the enterprise is among all enterprises (unsupervised)",
        "各项指标组合异常，比 {value:.0%} 的企业更反常", "its indicators together are more unusual than {value:.0%} of enterprises",
        direction=1, min_reason=0.9)
feature("rule_score", "enterprise", "model", "share",
        "触发专项行动方案规则的加权比例", "weighted share of the action plan's rules the enterprise trips",
        "触发多项专项行动规则（{value:.0%}）", "trips several of the action plan's rules ({value:.0%})",
        direction=1, min_reason=0.15)
