"""Scoring on a Dask cluster: features built with the trajectories on the workers, the models
applied to row chunks there, the lead files assembled on the client as ``score_snapshot`` does.

Training on a cluster is ``run_training(..., client=client)`` (fixes kept on the workers,
LightGBM through ``models.lgbm_dask``); scoring is ``score_on_cluster``. Both give what the pandas
path gives: the same features, and the same scores for the same model.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from features.build import FeatureSet, build
from features.snapshot import Snapshot
from training.score import LeadSet, score_snapshot

Progress = Callable[[str], None]
ROWS_PER_TASK = 5_000  # rows a worker scores and explains in one task


def _proba(model, rows: pd.DataFrame) -> np.ndarray:
    return model.predict_proba(rows)


def _reasons(model, rows: pd.DataFrame, lang: str) -> list[list[str]]:
    return model.reasons(rows, lang)


def _explain(model, rows: pd.DataFrame) -> tuple[list[list[str]], list[list[str]]]:
    if hasattr(model, "explain"):
        return model.explain(rows)
    return model.reasons(rows, "zh"), model.reasons(rows, "en")


class ClusterScorer:
    """A fitted lead model applied on the workers, ``ROWS_PER_TASK`` rows a task: the same
    ``predict_proba``, ``reasons`` and ``explain`` answers as the model itself, row for row."""

    def __init__(self, model, client, rows_per_task: int = ROWS_PER_TASK):
        self.model = model
        self.client = client
        self.rows_per_task = rows_per_task
        self._remote = client.scatter([model], broadcast=True)[0]

    def _chunks(self, X: pd.DataFrame) -> list[pd.DataFrame]:
        k = max(1, -(-len(X) // self.rows_per_task))
        return [X.iloc[a:b] for a, b in zip(np.linspace(0, len(X), k + 1).astype(int)[:-1],
                                             np.linspace(0, len(X), k + 1).astype(int)[1:], strict=True)]

    def _map(self, fn, X: pd.DataFrame, *args) -> list:
        futures = [self.client.submit(fn, self._remote, c, *args, pure=False) for c in self._chunks(X)]
        return self.client.gather(futures)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        if not len(X):
            return self.model.predict_proba(X)
        return np.concatenate(self._map(_proba, X))

    def reasons(self, X: pd.DataFrame, lang: str = "zh") -> list[list[str]]:
        return [r for part in self._map(_reasons, X, lang) for r in part]

    def explain(self, X: pd.DataFrame) -> tuple[list[list[str]], list[list[str]]]:
        parts = self._map(_explain, X)
        return [r for zh, _ in parts for r in zh], [r for _, en in parts for r in en]


def score_on_cluster(snapshot: Snapshot, as_of, enterprise_model, tip_model, versions: dict[str, str], digest: str,
                     client, k: int = 20, share: float = 0.10, features: FeatureSet | None = None,
                     progress: Progress | None = None, driving=None) -> LeadSet:
    """``score_snapshot`` with the work on the cluster: the trajectory features (fixes split by
    vehicle, stops and trip evidence computed per vehicle group on the workers) and the scoring and
    explaining of every enterprise and tip (row chunks on the workers)."""
    fs = features or build(snapshot, as_of, progress=progress, engine="dask", dask_client=client,
                           **({"driving": driving} if driving is not None else {}))
    ent = ClusterScorer(enterprise_model, client)
    tip = ClusterScorer(tip_model, client) if tip_model is not None else None
    return score_snapshot(snapshot, as_of, ent, tip, versions, digest, k=k, share=share, features=fs, progress=progress)
