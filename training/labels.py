"""Labels from past investigations (DATA_CONTRACT.md §2), and from the full truth when a simulated
snapshot has one.

At as-of date T an enterprise is positive if a case about it opened in (T, T + 180 days] was
confirmed, negative if one was found unfounded (and none confirmed), and unlabelled otherwise:
never negative because nobody looked. A tip is positive if a case it started was confirmed.
``known_by`` truncates what is visible: a model evaluated at S may learn only from cases opened
on or before S.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from features.timeutil import as_of_day

LABEL_DAYS = 180
TRUTH_LOOKBACK_DAYS = 365
CASE_COLUMNS = ["case_id", "opened", "enterprise_id", "tip_id", "outcome", "violation", "tonnes", "criminal"]


def combine_cases(cases: pd.DataFrame, recorded: pd.DataFrame | None) -> pd.DataFrame:
    """The snapshot's cases plus outcomes recorded through the service (same columns; a recorded
    outcome with the same case_id replaces the snapshot's)."""
    if recorded is None or recorded.empty:
        return cases
    rec = recorded.reindex(columns=[c for c in CASE_COLUMNS if c in recorded.columns])
    rec = rec.assign(opened=pd.to_datetime(rec["opened"]).astype("datetime64[ns]"))
    base = cases[~cases["case_id"].isin(rec["case_id"])]
    return pd.concat([base, rec], ignore_index=True)


def enterprise_labels(cases: pd.DataFrame, as_of, label_days: int = LABEL_DAYS, known_by=None) -> pd.Series:
    """1/0 by enterprise_id for enterprises investigated in (as_of, as_of + label_days]; others absent."""
    start = as_of_day(as_of)
    end = start + pd.Timedelta(days=label_days)
    if known_by is not None:
        end = min(end, as_of_day(known_by))
    c = cases[cases["enterprise_id"].notna() & cases["outcome"].isin(("confirmed", "unfounded"))]
    c = c[(c["opened"] > start) & (c["opened"] <= end)]
    return (c["outcome"] == "confirmed").groupby(c["enterprise_id"]).max().astype(int).rename("label")


def investigated(cases: pd.DataFrame, as_of, label_days: int = LABEL_DAYS, known_by=None) -> pd.Index:
    """Enterprises with any case (including open ones) opened in the label window: the selection."""
    start = as_of_day(as_of)
    end = start + pd.Timedelta(days=label_days)
    if known_by is not None:
        end = min(end, as_of_day(known_by))
    c = cases[cases["enterprise_id"].notna() & (cases["opened"] > start) & (cases["opened"] <= end)]
    return pd.Index(c["enterprise_id"].unique())


def tip_labels(cases: pd.DataFrame, known_by=None) -> pd.Series:
    """1/0 by tip_id for tips that started a concluded case opened on or before ``known_by``."""
    c = cases[cases["tip_id"].notna() & cases["outcome"].isin(("confirmed", "unfounded"))]
    if known_by is not None:
        c = c[c["opened"] <= as_of_day(known_by)]
    return (c["outcome"] == "confirmed").groupby(c["tip_id"]).max().astype(int).rename("label")


# ---- truth (simulated snapshots only) --------------------------------------------------------


def load_truth(snapshot_path: str | Path) -> dict[str, pd.DataFrame] | None:
    """The simulator's ``truth/`` tables, or None for a real snapshot."""
    folder = Path(snapshot_path) / "truth"
    if not (folder / "behaviours.csv").exists():
        return None
    out = {}
    for name in ("behaviours", "tips", "sites", "events", "hidden_tonnes"):
        f = folder / f"{name}.csv"
        if f.exists():
            out[name] = pd.read_csv(f, dtype={"enterprise_id": str, "tip_id": str, "site_id": str})
    b = out["behaviours"]
    b["start"] = pd.to_datetime(b["start"])
    b["end"] = pd.to_datetime(b["end"])
    return out


def truth_enterprise_labels(truth: dict[str, pd.DataFrame], enterprise_ids, as_of) -> pd.Series:
    """1 if the enterprise was committing any violation at some time in the 365 days up to as_of."""
    t = as_of_day(as_of)
    b = truth["behaviours"]
    active = b[(b["start"] <= t) & (b["end"] >= t - pd.Timedelta(days=TRUTH_LOOKBACK_DAYS))]
    ids = pd.Index(enterprise_ids)
    return pd.Series(ids.isin(active["enterprise_id"]).astype(int), index=ids, name="truth")


def truth_tip_labels(truth: dict[str, pd.DataFrame], tip_ids) -> pd.Series:
    t = truth.get("tips")
    ids = pd.Index(tip_ids)
    if t is None:
        return pd.Series(np.nan, index=ids)
    genuine = t.set_index("tip_id")["genuine"].astype(str).str.lower().isin(("true", "1"))
    return genuine.reindex(ids).fillna(False).astype(int).rename("truth")
