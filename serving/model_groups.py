"""A model version's evaluation per county and per industry group, read from the tables its training
run logged as MLflow artifacts (``bias_audit_county.csv``, ``bias_audit_industry_group.csv``, written
by ``training.pipeline._log_tables`` from ``training.evaluate.bias_audit``).

A run without the tables (older runs, a rules-only run), an unreadable table or a row out of bounds
gives fewer rows, never an error: the models page then says there is nothing to show."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import pandas as pd
from pydantic import ValidationError

from serving.present_units import INDUSTRY_GROUPS
from serving.schemas.admin import GroupRow

log = logging.getLogger(__name__)

# the kind of each table, its artifact and the column naming the group
TABLES = {"by_county": ("bias_audit_county.csv", "county"), "by_industry": ("bias_audit_industry_group.csv", "industry_group")}
MAX_ROWS = 200
VALUES = ("rows", "investigated", "confirmed_rate", "mean_score", "top_k_share", "labels_n", "labels_precision_at_k",
          "labels_ap", "violating", "investigated_vs_violating", "listed_vs_violating")


def group_tables(client, run_id: str | None) -> dict[str, list[dict]]:
    """``{"by_county": [...], "by_industry": [...]}`` of the run, each row a :class:`GroupRow`."""
    out: dict[str, list[dict]] = {key: [] for key in TABLES}
    if not run_id:
        return out
    with tempfile.TemporaryDirectory(prefix="hazleads-groups-") as tmp:
        for key, (artifact, col) in TABLES.items():
            try:
                path = Path(client.download_artifacts(run_id, artifact, tmp))
                frame = pd.read_csv(path, dtype={col: "str"}, nrows=MAX_ROWS)
            except Exception as exc:  # noqa: BLE001 - a missing or unreadable table shows no rows
                log.info("run %s has no readable %s: %s", run_id, artifact, exc)
                continue
            out[key] = _rows(frame, col, artifact, industry=col == "industry_group")
    return out


def _rows(frame: pd.DataFrame, col: str, artifact: str, industry: bool) -> list[dict]:
    if col not in frame:
        log.warning("%s has no column %s", artifact, col)
        return []
    rows = []
    for i, r in frame.iterrows():
        group = str(r[col])
        zh, en = INDUSTRY_GROUPS.get(group, (group, group)) if industry else (group, group)
        values = {k: _plain(r[k]) for k in VALUES if k in frame}
        try:
            rows.append(GroupRow(group=group, name=zh, name_en=en, **values).model_dump())
        except (ValidationError, TypeError, ValueError) as exc:
            log.warning("%s row %d (%s) left out: %s", artifact, i + 2, group, exc)
    return rows


def _plain(value):
    """A CSV cell as a Python number (NumPy scalars unwrapped), None when empty."""
    if pd.isna(value):
        return None
    return value.item() if hasattr(value, "item") else value
