"""The run's human-readable outputs: the side-by-side results table and plots."""

from __future__ import annotations

import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import mlflow  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from training.evaluate import KS, calibration_table  # noqa: E402

HEADLINE = ["labels/precision@10", "labels/precision@20", "labels/ap", "truth/precision@20", "truth/recall@20",
            "truth/precision@50", "truth/ap", "truth/ndcg@20", "labels/brier"]


def results_table(metrics: pd.DataFrame, columns: list[str] = HEADLINE) -> str:
    """Markdown: one row per (entity, model), headline metrics averaged over folds."""
    if metrics.empty:
        return "(no metrics)\n"
    m = metrics[metrics["metric"].isin(columns)]
    t = m.groupby(["entity", "model", "metric"])["value"].mean().unstack("metric")
    t = t.reindex(columns=[c for c in columns if c in t.columns])
    lines = ["| entity | model | " + " | ".join(t.columns) + " |", "|---|---|" + "---|" * len(t.columns)]
    for (entity, model), row in t.iterrows():
        cells = ["" if pd.isna(v) else f"{v:.3f}" for v in row]
        lines.append(f"| {entity} | {model} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def precision_curve(frame: pd.DataFrame, model: str, target: str, ks: list[int]) -> list[float]:
    """The mean over as-of dates of ``target`` among each date's ``k`` highest ``model`` scores, for
    each k (rows without ``target`` left out; a date with fewer rows counts them all): what
    ``nlargest(k, model)`` gives (ties to the earlier row, missing scores last), one sort per date."""
    per = []
    for _, g in frame.groupby("as_of"):
        g = g[g[target].notna()]
        if not len(g):
            continue
        v = g[model].to_numpy(dtype="float64")
        ok = ~np.isnan(v)  # nlargest takes missing scores last, in row order
        order = np.concatenate([np.flatnonzero(ok)[np.argsort(-v[ok], kind="stable")], np.flatnonzero(~ok)])
        hits = np.cumsum(g[target].to_numpy(dtype="float64")[order])
        per.append([hits[min(k, order.size) - 1] / min(k, order.size) if order.size else np.nan for k in ks])
    return list(np.mean(per, axis=0)) if per else [np.nan] * len(ks)


def log_plots(results, config) -> None:
    """precision@k curves, calibration and feature importance of the latest fold, as MLflow artifacts."""
    r = results[0]
    f = r.enterprise_scores
    models = [c for c in f.columns if c not in ("as_of", "entity_id", "label", "truth", "county", "industry_group")]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        fig, ax = plt.subplots(figsize=(6, 4))
        ks = list(range(5, 101, 5))
        target = "truth" if "truth" in f and f["truth"].notna().any() else "label"
        for m in models:
            ax.plot(ks, precision_curve(f, m, target, ks), label=m)
        ax.set_xlabel("k")
        ax.set_ylabel(f"precision@k ({target})")
        ax.legend()
        fig.tight_layout()
        fig.savefig(tmp / "precision_at_k.png", dpi=100)
        plt.close(fig)
        if "lgbm" in f:
            cal = calibration_table(f.rename(columns={"lgbm": "score"}))
            fig, ax = plt.subplots(figsize=(4, 4))
            ax.plot([0, 1], [0, 1], "k:")
            ax.plot(cal["predicted"], cal["observed"], "o-")
            ax.set_xlabel("predicted")
            ax.set_ylabel("observed (labels)")
            fig.tight_layout()
            fig.savefig(tmp / "calibration.png", dpi=100)
            plt.close(fig)
        if hasattr(r.enterprise_model, "importances"):
            imp = r.enterprise_model.importances().head(20)[::-1]
            fig, ax = plt.subplots(figsize=(6, 6))
            ax.barh(imp.index, imp.values)
            ax.set_xlabel("gain")
            fig.tight_layout()
            fig.savefig(tmp / "feature_importance.png", dpi=100)
            plt.close(fig)
        mlflow.log_artifacts(str(tmp), "plots")


__all__ = ["KS", "log_plots", "results_table"]
