"""The LightGBM lead model trained on a Dask cluster with LightGBM's native Dask interface.

``DaskLeadClassifier`` takes the same parameters as ``LeadClassifier`` and fits the same kind of
model — a plain LightGBM booster in ``booster_`` that predicts, explains (``pred_contrib``) and
serves without Dask — but the boosting itself runs data-parallel on the workers of the current
Dask client (``distributed.get_client()``): the rows are cut into one part per worker (whole
as-of dates per part for LambdaRank) and each part is placed on its worker before training.

Data-parallel LightGBM is not bit-identical to one machine: each worker bins its features from
its own rows and bags its own rows. With one part it is the single-machine model exactly.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from models.lgbm import LeadClassifier


class DaskLeadClassifier(LeadClassifier):
    """``LeadClassifier`` trained by ``lightgbm.DaskLGBMClassifier`` (or ``DaskLGBMRanker``).

    ``n_partitions``: parts the rows are cut into (default: one per worker, fewer when there are
    fewer than ``min_rows_per_partition`` rows a part).
    """

    def __init__(self, objective: str = "binary", n_estimators: int = 300, learning_rate: float = 0.03,
                 num_leaves: int = 15, min_child_samples: int = 20, subsample: float = 0.8,
                 colsample_bytree: float = 0.8, reg_lambda: float = 1.0, random_state: int | None = 0,
                 n_jobs: int = 1, monotone: dict | None = None, n_partitions: int | None = None,
                 min_rows_per_partition: int = 100):
        super().__init__(objective=objective, n_estimators=n_estimators, learning_rate=learning_rate,
                         num_leaves=num_leaves, min_child_samples=min_child_samples, subsample=subsample,
                         colsample_bytree=colsample_bytree, reg_lambda=reg_lambda, random_state=random_state,
                         n_jobs=n_jobs)
        self.monotone = monotone
        self.n_partitions = n_partitions
        self.min_rows_per_partition = min_rows_per_partition

    def _check_classes(self) -> None:
        if len(self.classes_) != 2:
            raise ValueError(f"DaskLeadClassifier needs a binary y, got {len(self.classes_)} class(es): {self.classes_.tolist()}")

    def fit(self, X, y, sample_weight=None, groups=None):
        import lightgbm as lgb
        from distributed import get_client

        from features.distributed import worker_addresses

        client = get_client()
        frame, y01, sample_weight, params = self._prepare(X, y, sample_weight)
        workers = worker_addresses(client)  # waits for a worker reconnecting, else raises
        k = self.n_partitions or min(len(workers), max(1, len(frame) // self.min_rows_per_partition))
        if self.objective == "lambdarank":
            order = np.argsort(np.asarray(groups) if groups is not None else np.zeros(len(y01)), kind="stable")
            g = np.asarray(groups)[order] if groups is not None else np.zeros(len(y01))
            _, sizes = np.unique(g, return_counts=True)
            frame, y01 = frame.iloc[order].reset_index(drop=True), y01[order]
            sample_weight = None if sample_weight is None else np.asarray(sample_weight)[order]
            cuts = _group_cuts(sizes, k)
            model = lgb.DaskLGBMRanker(client=client, objective="lambdarank", **params)
        elif self.objective == "binary":
            cuts = np.linspace(0, len(frame), k + 1).round().astype(int)
            sizes = None
            model = lgb.DaskLGBMClassifier(client=client, **params)
        else:
            raise ValueError(f"objective must be 'binary' or 'lambdarank', got {self.objective!r}")
        parts = _placed(client, workers, frame, y01, sample_weight, sizes, cuts)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Parameter n_jobs will be ignored")  # workers use their own threads
            model.fit(parts["X"], parts["y"], sample_weight=parts.get("w"), group=parts.get("group"))
        self.model_ = model.to_local()
        self.booster_ = self.model_.booster_
        return self


def _group_cuts(sizes: np.ndarray, k: int) -> np.ndarray:
    """Row cuts at group boundaries into at most ``k`` parts of about equal rows."""
    ends = np.cumsum(sizes)
    targets = np.linspace(0, ends[-1], k + 1)[1:-1]
    inner = np.unique(ends[np.minimum(np.searchsorted(ends, targets), len(ends) - 1)])
    return np.unique(np.concatenate([[0], inner, [ends[-1]]])).astype(int)


def _placed(client, workers: list[str], frame: pd.DataFrame, y: np.ndarray, w: np.ndarray | None,
            group_sizes: np.ndarray | None, cuts: np.ndarray) -> dict:
    """Dask collections whose part ``i`` (rows ``cuts[i]:cuts[i+1]``) is already on worker ``i``:
    placement decides which worker trains on what, so it is made explicit, not left to chance."""
    import dask.array as da
    import dask.dataframe as dd

    xs, ys, ws, gs = [], [], [], []
    ends = np.cumsum(group_sizes) if group_sizes is not None else None
    for i, (a, b) in enumerate(zip(cuts[:-1], cuts[1:], strict=True)):
        if b <= a:
            continue
        where = [workers[i % len(workers)]]
        xs.append(client.scatter(frame.iloc[a:b], workers=where))
        ys.append(da.from_delayed(client.scatter(y[a:b], workers=where), shape=(b - a,), dtype=y.dtype))
        if w is not None:
            ws.append(da.from_delayed(client.scatter(np.asarray(w[a:b]), workers=where), shape=(b - a,), dtype="float64"))
        if ends is not None:
            sel = group_sizes[(ends > a) & (ends <= b)]
            gs.append(da.from_delayed(client.scatter(sel, workers=where), shape=(len(sel),), dtype=sel.dtype))
    out = {"X": dd.from_delayed(xs, meta=frame.iloc[:0]), "y": da.concatenate(ys)}
    if ws:
        out["w"] = da.concatenate(ws)
    if gs:
        out["group"] = da.concatenate(gs)
    return out
