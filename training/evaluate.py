"""Evaluation at k: the numbers that matter to investigators who can visit ~20 places a month.

Every metric is computed per as-of date and averaged over a fold's test dates:
- against labels: only labelled rows (investigated, concluded) are ranked — a biased sample
  (investigators chose it) but the only one a real deployment has;
- against truth (simulated snapshots): every row is ranked, as the list investigators would get.
Precision@k and recall@k for k in (10, 20, 50), average precision, NDCG@k and the Brier score.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, ndcg_score

KS = (10, 20, 50)


def _topk(y: np.ndarray, s: np.ndarray, k: int) -> np.ndarray:
    order = np.argsort(-s, kind="stable")
    return y[order[: min(k, len(y))]]


def precision_at_k(y, scores, k: int) -> float:
    y, s = np.asarray(y, dtype=float), np.asarray(scores, dtype=float)
    if len(y) == 0:
        return np.nan
    return float(_topk(y, s, k).mean())


def recall_at_k(y, scores, k: int) -> float:
    y, s = np.asarray(y, dtype=float), np.asarray(scores, dtype=float)
    total = y.sum()
    return float(_topk(y, s, k).sum() / total) if total > 0 else np.nan


def ndcg_at_k(y, scores, k: int) -> float:
    y, s = np.asarray(y, dtype=float), np.asarray(scores, dtype=float)
    if len(y) < 2 or y.sum() == 0:
        return np.nan
    if not np.isfinite(s).all() or y.min() < 0:  # scikit-learn's own checks and errors
        return float(ndcg_score(y.reshape(1, -1), s.reshape(1, -1), k=k))
    return _ndcg(y.reshape(1, -1), s, k)


def ap(y, scores) -> float:
    y = np.asarray(y, dtype=float)
    if len(y) == 0 or y.sum() == 0 or y.sum() == len(y):
        return np.nan
    s = np.asarray(scores, dtype=float)
    if s.shape != y.shape or not np.isfinite(s).all() or not np.isin(y, (0.0, 1.0)).all():
        return float(average_precision_score(y, s))  # scikit-learn's own checks and errors
    return _average_precision(y, s)


# scikit-learn's average precision and NDCG (1.9), the same operations in the same order, so the
# same numbers to the bit (``tests/test_evaluate_exact.py``), without the argument checks that took
# most of a run's metric time (~780 metrics, each per as-of date); the callers above check what the
# shortcut assumes (0/1 labels with both classes, finite scores) and ask scikit-learn otherwise.

def _average_precision(y: np.ndarray, s: np.ndarray) -> float:
    order = np.argsort(-s, kind="stable")  # descending; the order within ties does not change the counts
    s_sorted, y_sorted = s[order], y[order]
    thresholds = np.concatenate([np.flatnonzero(np.diff(s_sorted)), [y.size - 1]])
    tps = np.cumsum(y_sorted, dtype=np.float64)[thresholds]
    fps = 1 + thresholds.astype(np.float64) - tps
    ps = tps + fps
    precision = np.where(ps != 0, np.divide(tps, ps), 0.0)
    recall = tps / tps[-1]
    precision = np.concatenate((np.flip(precision), [1.0]))
    recall = np.concatenate((np.flip(recall), [0.0]))
    return float(max(0.0, -np.sum(np.diff(recall) * precision[:-1])))


def _dcg_discount(n: int, k: int) -> np.ndarray:
    discount = 1 / (np.log(np.arange(n) + 2) / np.log(2))
    discount[k:] = 0
    return discount


def _ndcg(y_true: np.ndarray, s: np.ndarray, k: int) -> float:
    """``ndcg_score(y_true, s[None], k=k)`` for one row ``y_true`` (shape 1 x n), ties averaged."""
    discount = _dcg_discount(y_true.shape[1], k)
    _, inv, counts = np.unique(-s, return_inverse=True, return_counts=True)
    ranked = np.zeros(len(counts))
    np.add.at(ranked, inv, y_true[0])
    ranked /= counts
    discount_cumsum = np.cumsum(discount)
    groups = np.cumsum(counts) - 1
    discount_sums = np.empty(len(counts))
    discount_sums[0] = discount_cumsum[groups[0]]
    discount_sums[1:] = np.diff(discount_cumsum[groups])
    gain = np.asarray([(ranked * discount_sums).sum()])
    ranking = np.argsort(y_true)[:, ::-1]
    ideal = discount.dot(y_true[np.arange(1)[:, np.newaxis], ranking].T)
    if ideal[0] == 0:
        return 0.0
    gain /= ideal
    return float(np.average(gain))


def ranking_metrics(y, scores, ks=KS, prefix: str = "") -> dict[str, float]:
    out = {f"{prefix}ap": ap(y, scores)}
    for k in ks:
        out[f"{prefix}precision@{k}"] = precision_at_k(y, scores, k)
        out[f"{prefix}recall@{k}"] = recall_at_k(y, scores, k)
        out[f"{prefix}ndcg@{k}"] = ndcg_at_k(y, scores, k)
    return out


def evaluate(frame: pd.DataFrame, ks=KS) -> dict[str, float]:
    """``frame`` has columns as_of, score, label (NaN when unlabelled) and optionally truth.

    Returns metrics averaged over as-of dates: ``labels/...`` on labelled rows, ``truth/...`` on all
    rows, ``labels/brier``, and counts.
    """
    per_date = []
    for _, g in frame.groupby("as_of", sort=True):
        m: dict[str, float] = {}
        lab = g[g["label"].notna()]
        if len(lab):
            m.update(ranking_metrics(lab["label"], lab["score"], ks, "labels/"))
            m["labels/brier"] = float(np.mean((lab["score"] - lab["label"]) ** 2))
            m["labels/n"] = float(len(lab))
            m["labels/positives"] = float(lab["label"].sum())
        if "truth" in g and g["truth"].notna().any():
            m.update(ranking_metrics(g["truth"], g["score"], ks, "truth/"))
            m["truth/base_rate"] = float(g["truth"].mean())
        m["rows"] = float(len(g))
        per_date.append(m)
    return pd.DataFrame(per_date).mean(numeric_only=True).to_dict() if per_date else {}


def calibration_table(frame: pd.DataFrame, bins: int = 10) -> pd.DataFrame:
    """Mean predicted score and observed rate per score bin (labelled rows)."""
    lab = frame[frame["label"].notna()]
    if lab.empty:
        return pd.DataFrame(columns=["bin", "predicted", "observed", "n"])
    b = np.minimum((lab["score"].to_numpy() * bins).astype(int), bins - 1)
    t = lab.assign(bin=b).groupby("bin").agg(predicted=("score", "mean"), observed=("label", "mean"), n=("label", "size"))
    return t.reset_index()


def list_overlap(frame: pd.DataFrame, k: int = 20, id_col: str = "entity_id") -> float:
    """Mean Jaccard overlap of the top-k lists of consecutive as-of dates (how stable the list is)."""
    tops = [set(g.nlargest(k, "score")[id_col]) for _, g in frame.groupby("as_of", sort=True)]
    if len(tops) < 2:
        return np.nan
    return float(np.mean([len(a & b) / len(a | b) for a, b in zip(tops, tops[1:], strict=False) if a | b]))


def bias_audit(frame: pd.DataFrame, group_col: str, k: int = 20) -> pd.DataFrame:
    """Per group (county, industry): how often investigated, how often confirmed, how often truly
    violating (when known), how often the model lists it in the top k, and how well it ranks the
    group's own investigated rows: ``labels_precision_at_k`` (per as-of date the group's labelled
    rows ranked by score, the confirmed share of its top min(k, labelled rows)) and ``labels_ap``
    (average precision of those rows, NaN without a confirmed one), each averaged over the dates
    with labelled rows in the group (NaN when there are none).

    ``investigated_vs_violating`` above 1 means the group is investigated more than its violation
    rate warrants (needs truth); ``listed_vs_violating`` says the same of the model's lists.
    """
    f = frame.copy()
    f["in_top_k"] = False
    for _, g in f.groupby("as_of"):
        f.loc[g.nlargest(k, "score").index, "in_top_k"] = True
    agg = f.groupby(group_col).agg(
        rows=("score", "size"),
        investigated=("label", lambda s: s.notna().mean()),
        confirmed_rate=("label", "mean"),
        mean_score=("score", "mean"),
        top_k_share=("in_top_k", "mean"),
    )
    labelled = _group_label_metrics(f, group_col, k)
    agg["labels_n"] = labelled["labels_n"].reindex(agg.index).fillna(0).astype(int)
    agg["labels_precision_at_k"] = labelled["labels_precision_at_k"].reindex(agg.index)
    agg["labels_ap"] = labelled["labels_ap"].reindex(agg.index)
    if "truth" in f and f["truth"].notna().any():
        agg["violating"] = f.groupby(group_col)["truth"].mean()
        overall_inv = f["label"].notna().mean()
        overall_viol = f["truth"].mean()
        overall_top = f["in_top_k"].mean()
        rate = agg["violating"] / overall_viol if overall_viol > 0 else np.nan
        agg["investigated_vs_violating"] = (agg["investigated"] / overall_inv) / rate
        agg["listed_vs_violating"] = (agg["top_k_share"] / overall_top) / rate
    return agg.reset_index().sort_values("rows", ascending=False)


def _group_label_metrics(f: pd.DataFrame, group_col: str, k: int) -> pd.DataFrame:
    """Per group: labelled rows, and precision@k and average precision of its labelled rows per
    as-of date, averaged over the dates where the group has labelled rows."""
    lab = f[f["label"].notna()]
    rows = []
    for (group, _), g in lab.groupby([group_col, "as_of"]):
        y, s = g["label"].to_numpy(dtype=float), g["score"].to_numpy(dtype=float)
        rows.append({group_col: group, "n": len(g), "p": precision_at_k(y, s, k),
                     "ap": float(average_precision_score(y, s)) if y.sum() > 0 else np.nan})
    if not rows:
        return pd.DataFrame(columns=["labels_n", "labels_precision_at_k", "labels_ap"], dtype=float)
    per = pd.DataFrame(rows).groupby(group_col)
    return pd.DataFrame({"labels_n": per["n"].sum(), "labels_precision_at_k": per["p"].mean(), "labels_ap": per["ap"].mean()})
