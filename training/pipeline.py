"""One training run: labels -> splits -> dataset -> fit -> evaluate -> register.

``run_training`` is what ``hazleads train`` and the service's background retraining call. The run
is recorded in MLflow (parameters, the snapshot's digest, per-fold metrics of every model and
baseline, plots, the models); the latest fold's models are registered and go through the gate.
A run that fails at any point leaves the registry's champion untouched.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient

from features.snapshot import Snapshot, load_snapshot, snapshot_digest
from hazleads.settings import Settings
from hazleads.workers import fork_workers
from training import registry
from training.config import SplitParams, TrainConfig
from training.dataset import (
    Dataset,
    FeaturesNotCached,
    SnapshotSpan,
    all_cached,
    build_dataset,
    feature_cache_dir,
    read_span,
    write_span,
)
from training.date_workers import DateWorkerError
from training.evaluate import KS, ap, bias_audit, calibration_table, evaluate, list_overlap, precision_at_k
from training.fit import FoldResult, fit_fold, relabel
from training.fold_cache import FoldCache
from training.fold_workers import FoldWorkerError, later_folds, start_server
from training.labels import combine_cases, load_truth, truth_enterprise_labels, truth_tip_labels
from training.registry_warmup import RegistryWarmup
from training.report import log_plots, results_table
from training.select import Choice, choose_enterprise, choose_tip
from training.splits import HoldoutSplitter, RollingSplitter, monthly_as_of_dates

log = logging.getLogger(__name__)
Progress = Callable[[str], None]


class TrainingError(RuntimeError):
    """A run that cannot produce a model (too little history, no labels); the champion is untouched."""


@dataclass
class TrainingResult:
    run_id: str
    as_of: pd.Timestamp
    metrics: pd.DataFrame  # fold x model x metric
    decisions: list[registry.GateDecision] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    loaded: LoadedSnapshot | None = field(default=None, repr=False)  # with ``keep_loaded``

    def summary(self) -> dict:
        return {"run_id": self.run_id, "as_of": str(self.as_of.date()),
                "decisions": [d.__dict__ for d in self.decisions], "notes": self.notes}


@dataclass(frozen=True)
class LoadedSnapshot:
    """The snapshot a run loaded and checked, with its stops and places: what a service started in
    the same process (``hazleads demo``) would otherwise load and detect again
    (``serving.runtime.Runtime.load_snapshot``). Only the run's own reads touched it: features
    never write into a snapshot."""

    path: Path  # resolved
    snapshot: Snapshot
    digest: str
    places: object  # features.geo.PlaceIndex
    stop_index: object  # features.trajectory_features' stop index
    features: object = None  # features.build.FeatureSet at the snapshot's last day, when the run built it


# Shorter windows tried, in order, when a snapshot is too short for the configured ones.
FALLBACK_WINDOWS = (
    dict(n_folds=2, test_days=60, step_days=60, calib_days=60, min_label_days=30, min_history_days=60),
    dict(n_folds=2, test_days=45, step_days=45, calib_days=45, min_label_days=30, min_history_days=45, label_days=120),
    dict(n_folds=2, test_days=30, step_days=30, calib_days=30, min_label_days=30, min_history_days=30, label_days=90),
)


HOLDOUT_FALLBACK_DAYS = (120, 90, 60)


def _holdout_windows(sp: SplitParams, first_day, last_day):
    notes: list[str] = []
    for i, days in enumerate((sp.holdout_days, *[d for d in HOLDOUT_FALLBACK_DAYS if d < sp.holdout_days])):
        dates = monthly_as_of_dates(first_day, last_day, sp.min_history_days)
        splitter = HoldoutSplitter(sp.n_folds, days, sp.holdout_step_days, sp.label_days, sp.min_label_days)
        folds = splitter.splits(dates, last_day)
        if folds:
            if i:
                notes.append(f"snapshot too short for a {sp.holdout_days}-day test period; used {days} days, {len(folds)} fold(s)")
            return sp.model_copy(update={"holdout_days": days}), dates, folds, notes
    return sp, [], [], notes


def _fit_windows(sp: SplitParams, first_day, last_day):
    """The configured windows, or the first fallback that yields at least one fold (with a note)."""
    if sp.scheme == "holdout":
        return _holdout_windows(sp, first_day, last_day)
    notes: list[str] = []
    for i, change in enumerate(({}, *FALLBACK_WINDOWS)):
        cand = sp.model_copy(update={k: v for k, v in change.items() if k != "n_folds" or v < sp.n_folds})
        if i and cand.label_days > sp.label_days:
            continue
        dates = monthly_as_of_dates(first_day, last_day, cand.min_history_days)
        splitter = RollingSplitter(cand.n_folds, cand.test_days, cand.step_days, cand.calib_days, cand.label_days,
                                   cand.min_label_days)
        folds = splitter.splits(dates, last_day)
        if folds:
            if i:
                notes.append(f"snapshot too short for the configured windows; used label {cand.label_days} d, "
                             f"test {cand.test_days} d, calibration {cand.calib_days} d, {len(folds)} fold(s)")
            return cand, dates, folds, notes
    return sp, [], [], notes


def _metric_key(*parts: str) -> str:
    return "/".join(parts).replace("@", "_at_")


def plan_dates(snap, last_day, config: TrainConfig, data: Path | str = "snapshot"):
    """The windows, as-of dates and folds a run at ``last_day`` uses (TrainingError if none fit)."""
    first_day = min(snap.electricity["date"].min(), snap.manifests["departed_at"].min())
    return plan_span(first_day, last_day, config, data)


def plan_span(first_day, last_day, config: TrainConfig, data: Path | str = "snapshot"):
    """``plan_dates`` for a snapshot whose first day (power or manifests) is ``first_day``."""
    sp, dates, folds, notes = _fit_windows(config.splits, first_day, last_day)
    if not folds:
        raise TrainingError(
            f"{data}: {first_day.date()} to {last_day.date()} is too short for a leak-free split "
            f"({sp.min_history_days} days of history, {sp.calib_days}+{sp.label_days}+{sp.test_days}+{sp.min_label_days} days of "
            "calibration, label window, test and label horizon); use a longer snapshot or shorter windows"
        )
    every = sp.fit_every_months
    needed = {d for f in folds for d in f.fit_dates(dates, every) + f.calibration_dates(dates) + f.test_dates(dates)}
    if config.refit:  # the model served is refitted on every date, up to the last
        needed |= set(dates)
    return first_day, sp, dates, folds, sorted(needed), notes


@dataclass(eq=False)
class FoldTask:
    """A run's fold fitting as one picklable call: ``task(i)`` fits fold ``i`` on the run's rows.
    A forked worker inherits it; a worker started from a fork server receives it pickled."""

    folds: list
    enterprise: pd.DataFrame
    tips: pd.DataFrame
    cases: pd.DataFrame
    config: TrainConfig
    truth: dict | None = None
    engine: str = "pandas"
    cache: FoldCache | None = None  # folds fitted by earlier runs (training.fold_cache)

    def __call__(self, i: int) -> FoldResult:
        truth_fn = partial(truth_enterprise_labels, self.truth) if self.truth else None
        split = self.folds[i]
        key = self.cache.key(split, self.cases, self.config, self.engine, bool(self.truth)) if self.cache else None
        kept, refused = self.cache.load(key) if key else (None, None)
        if kept is not None:
            result = relabel(kept, self.cases, self.tips, truth_fn)
            result.notes.append(f"{split.name}: models kept from an earlier run (the cases known by "
                                f"{split.label_horizon.date()} are the same); test labels read again")
        else:
            result = fit_fold(split, self.enterprise, self.tips, self.cases, self.config, truth_fn, engine=self.engine)
            problem = self.cache.save(key, result) if key else None
            for said in (refused and f"its kept models refused ({refused}): fitted again", problem):
                if said:
                    result.notes.append(f"{split.name}: {said}")
        result.metric_rows = fold_metrics(result)  # evaluated where fitted: a worker's folds beside the parent's
        return result


def train_models(dataset, cases: pd.DataFrame, folds, config: TrainConfig, truth=None, progress: Progress | None = None,
                 engine: str = "pandas", as_of=None, workers: int | None = None, start: str = "fork",
                 fold_cache: tuple[Path, bytes] | None = None) -> tuple[list[FoldResult], pd.DataFrame, list[Choice], list[str]]:
    """Every fold's models and baselines, and the models to register (``training.select``): the
    learned recipe refitted on every label known at ``as_of`` (default: the last as-of date of the
    dataset) where it beats the rules on the latest fold, else the rules. With two ``workers``
    (``hazleads.workers``; one on Dask) the later folds are fitted in a second process meanwhile
    (``training.fold_workers``): the same results. ``start`` is how that process starts: ``fork``
    (it inherits the rows) or ``forkserver`` (from a clean server process, the rows pickled to it:
    what a process with other threads running, the service, must use). With ``fold_cache`` (a folder
    and the home's signing key) a fold whose models an earlier run fitted on the same rows and known
    cases is taken from there (``training.fold_cache``; not on Dask): the same results."""
    say = progress or (lambda _m: None)
    tips = dataset.tip
    cache = None
    if fold_cache is not None and engine == "pandas":
        folder, secret = fold_cache
        cache = FoldCache.of(folder, dataset.enterprise, tips, secret)
    if truth and len(tips):
        tips = tips.assign(truth=truth_tip_labels(truth, tips["tip_id"]).to_numpy())
    as_of = pd.Timestamp(as_of).normalize() if as_of is not None else pd.Timestamp(dataset.enterprise["as_of"].max())
    fit = FoldTask(folds, dataset.enterprise, tips, cases, config, truth, engine, cache)

    def fitted(i: int) -> FoldResult:
        f = folds[i]
        say(f"训练 fitting {f.name} (test {f.test_start.date()}–{f.test_end.date()})")
        return fit(i)

    if engine == "pandas" and fork_workers(workers, len(folds)) > 1:
        say(f"训练 fitting {', '.join(f.name for f in folds[1:])} in a second process")
        with later_folds(fit, list(range(1, len(folds))), [f.name for f in folds], start=start) as later:
            first = fitted(0)
            choices, notes = _choose(first, dataset, cases, config, engine, as_of, say)
            results = [first, *later.results()]
    else:
        results = [fitted(i) for i in range(len(folds))]
        choices, notes = _choose(results[0], dataset, cases, config, engine, as_of, say)
    metrics = _collect_metrics(results)
    return results, metrics, choices, [n for r in results for n in r.notes] + notes


def _choose(latest: FoldResult, dataset, cases: pd.DataFrame, config: TrainConfig, engine: str, as_of,
            say: Progress) -> tuple[list[Choice], list[str]]:
    """The models to register, from the latest fold's results, and the notes on them."""
    choices: list[Choice] = []
    notes: list[str] = []
    if "lgbm" not in config.enterprise_models:
        notes.append("enterprise: the experiment trains no lead model; evaluation only, nothing registered")
    else:
        if dataset.enterprise.empty:
            raise TrainingError("no enterprise rows to fit even a rule model on")
        say("选择模型 choosing the enterprise model")
        choices.append(choose_enterprise(latest, dataset.enterprise, cases, as_of, config, engine))
    if "lgbm" not in config.tip_models:
        notes.append("tip: the experiment trains no tip model; evaluation only, nothing registered")
    elif len(dataset.tip):
        say("选择模型 choosing the tip model")
        choices.append(choose_tip(latest, dataset.tip, cases, as_of, config, engine))
    return choices, notes + [f"{c.kind}: {c.reason}" for c in choices]


def run_training(data: str | Path, settings: Settings, as_of=None, config: TrainConfig | None = None,
                 recorded_outcomes: pd.DataFrame | None = None, progress: Progress | None = None,
                 register: bool = True, client=None, feature_workers: int | None = None,
                 keep_loaded: bool = False, fold_start: str = "fork") -> TrainingResult:
    # With a Dask ``client`` (``hazleads train --cluster``) the fixes are checked and kept on its
    # workers, trajectory features are built there, and LightGBM trains with its Dask interface.
    # ``feature_workers``: processes building the as-of dates' features (``training.date_workers``)
    # and fitting the folds (``training.fold_workers``); default the CPUs, at most two; one with a
    # Dask client. ``keep_loaded``: the result keeps the snapshot in memory with its stops
    # (``LoadedSnapshot``) when they were loaded and detected. ``fold_start="forkserver"`` (the
    # service, whose request threads forbid a fork) fits the later folds in a process started from a
    # fork server, the rows pickled to it; then ``feature_workers`` does not limit the folds.
    config = config or TrainConfig()
    say = progress or (lambda _m: None)
    data = Path(data)
    say("读取快照 loading snapshot")
    workers = 1 if client is not None else feature_workers
    if fold_start == "forkserver" and client is None and fork_workers(None) > 1:
        start_server()  # its imports while the rows load: the folds' worker then starts at once
    with RegistryWarmup(settings) as warm:  # the registry's imports and store readied while the snapshot loads
        snap, digest, dataset, plan, last_fs = _load_with_features(data, settings, as_of, config, client, say, workers,
                                                                   latest=keep_loaded, checked=warm.open)
    last_day, (first_day, sp, dates, folds, needed, notes) = plan
    loaded = None
    if keep_loaded and client is None and snap.has_fixes and dataset.stop_index is not None:
        fs = last_fs if last_fs is not None and last_fs.as_of == snap.last_day else None
        loaded = LoadedSnapshot(data.resolve(), snap, digest, dataset.places, dataset.stop_index, fs)
    dataset.stop_index = dataset.places = last_fs = None  # not held through fitting unless handed over
    cases = combine_cases(snap.cases, recorded_outcomes)
    cases = cases[cases["opened"] <= last_day]  # nothing known after the as-of date, not even to evaluate
    truth = load_truth(data)
    try:
        results, metrics, choices, fold_notes = train_models(dataset, cases, folds, config, truth, say, as_of=last_day,
                                                             engine="dask" if client is not None else "pandas",
                                                             workers=workers if fold_start == "fork" else None,
                                                             start=fold_start,
                                                             fold_cache=(feature_cache_dir(settings.home_dir / "cache", digest) / "folds",
                                                                         registry.signing_key(settings.home_dir)))
    except FoldWorkerError as exc:
        raise TrainingError(str(exc)) from exc
    notes += fold_notes
    say("记录 recording the run")
    registry.configure(settings)
    decisions: list[registry.GateDecision] = []
    with mlflow.start_run(run_name=f"{config.name}-{last_day.date()}") as run:
        mlflow.set_tags({"snapshot": str(data.resolve()), "snapshot_digest": digest, "as_of": str(last_day.date()),
                         "experiment_config": config.name})
        mlflow.log_params({"config": json.dumps(config.model_dump(), ensure_ascii=False)[:6000],
                           "snapshot_digest": digest, "as_of": str(last_day.date()), "folds": len(folds),
                           "rows_enterprise": len(dataset.enterprise), "rows_tip": len(dataset.tip),
                           "first_day": str(first_day.date()), "label_days": sp.label_days, "k": config.k})
        try:
            _log_tables(results, metrics, config)
            log_plots(results, config)
            if register:  # before the run's metrics: logging a model copies each metric already in the
                # run to it with one history query per metric (1.3 s of a retrain for 778 metrics); the
                # metrics logged afterwards are linked to the run's models in their one batch
                decisions = _register(choices, results[0], config, last_day, digest)
        finally:  # a failed table, plot or registration still leaves the run its metrics
            if len(metrics):  # one batch, not a call (and a transaction) per metric
                finite = metrics[np.isfinite(metrics["value"].to_numpy(float))]
                mlflow.log_metrics({_metric_key(e, f, m, k): float(v) for e, f, m, k, v in
                                    finite[["entity", "fold", "model", "metric", "value"]].itertuples(index=False)})
    return TrainingResult(run.info.run_id, last_day, metrics, decisions, notes, loaded)


def _load_with_features(data: Path, settings: Settings, as_of, config: TrainConfig, client, say: Progress,
                        workers: int | None = None, latest: bool = False,
                        checked: Callable[[], None] = lambda: None) -> tuple[Snapshot, str, Dataset, tuple, object]:
    """The snapshot, its digest, the features at every as-of date the run needs, and the plan.

    When the cache holds this snapshot's span and every needed date (a retraining after new
    outcomes: they change the labels, not the features), only the small tables are read; the fixes,
    most of a snapshot's bytes, are neither read nor checked. The cache is keyed by the digest of
    every file's contents, computed first, so a changed snapshot is never served stale features.
    Otherwise the snapshot is loaded and checked in full, as a first run does, and hashed meanwhile
    in a thread (a folder that cannot be read gets the loader's error; a home that has cached
    nothing yet is not hashed for the look-up); with
    ``latest`` the last date's whole FeatureSet is returned too (else None). ``checked`` is called
    once the snapshot has passed its checks and the run's dates fit (``RegistryWarmup.open``)."""
    cache_dir = settings.home_dir / "cache"
    warm = _load_cached(data, cache_dir, as_of, config, say, checked)
    if warm is not None:
        return (*warm, None)
    with ThreadPoolExecutor(max_workers=1) as hashing:  # hashlib and file reads let go of the GIL: beside the load
        hashed = hashing.submit(snapshot_digest, data)
        snap = load_snapshot(data, progress=say, **({"trajectories": "cluster", "client": client} if client is not None else {}))
    try:
        digest = hashed.result()
    except OSError:  # a file became unreadable: as before the thread, the digest after the load raises it
        digest = snapshot_digest(data)
    last_day = pd.Timestamp(as_of).normalize() if as_of is not None else snap.last_day
    plan = plan_dates(snap, last_day, config, data)
    checked()
    try:
        write_span(cache_dir, SnapshotSpan.of(snap, digest))
    except ValueError:  # no dated row (a run given its as-of date gets this far): no span to cache
        pass
    try:
        dataset, last_fs = build_dataset(snap, plan[4], digest, cache_dir=cache_dir, progress=say, workers=workers,
                                         latest=latest, evidence=False)
    except DateWorkerError as exc:
        raise TrainingError(str(exc)) from exc
    return snap, digest, dataset, (last_day, plan), last_fs


def _load_cached(data: Path, cache_dir: Path, as_of, config: TrainConfig, say: Progress,
                 checked: Callable[[], None] = lambda: None):
    """``_load_with_features`` from the cache without the fixes, or None where that cannot be done."""
    if not data.is_dir() or not any(cache_dir.glob("*/span.json")):
        return None  # nothing was ever cached here (a first run): no need to hash the snapshot for it
    try:
        digest = snapshot_digest(data)
    except OSError:
        return None  # the full load reports what cannot be read
    span = read_span(cache_dir, digest)
    if span is None:
        return None
    last_day = pd.Timestamp(as_of).normalize() if as_of is not None else span.last_day
    try:
        plan = plan_span(span.first_day, last_day, config, data)
    except TrainingError:
        return None  # the full load raises it again, after checking the snapshot
    if not all_cached(cache_dir, digest, plan[4]):
        return None
    say("读取快照 loading snapshot (features cached: the fixes are not read)")
    snap = load_snapshot(data, progress=say, trajectories="skip")
    checked()  # its tables passed their checks; the fixes' were checked when the cache was filled
    try:
        dataset, _ = build_dataset(snap, plan[4], digest, cache_dir=cache_dir, progress=say, evidence=False)
    except FeaturesNotCached as exc:  # an entry became unreadable since it was checked
        log.warning("feature cache incomplete, loading the snapshot in full: %s", exc)
        return None
    return snap, digest, dataset, (last_day, plan)


def _collect_metrics(results: list[FoldResult]) -> pd.DataFrame:
    return pd.DataFrame([row for r in results for row in (r.metric_rows if r.metric_rows is not None else fold_metrics(r))])


def fold_metrics(r: FoldResult) -> list[dict]:
    """Every model's and baseline's metrics on the fold's test rows, one dict a metric."""
    rows = []
    for entity, frame, base in (("enterprise", r.enterprise_scores, ["as_of", "entity_id", "label", "truth", "county", "industry_group"]),
                                ("tip", r.tip_scores, ["as_of", "entity_id", "label", "truth", "county"])):
        if frame is None or frame.empty:
            continue
        for model in [c for c in frame.columns if c not in base]:
            f = frame.rename(columns={model: "score"})
            m = evaluate(f[[c for c in ("as_of", "score", "label", "truth") if c in f]])
            m["overlap@20"] = list_overlap(f, 20) if entity == "enterprise" else np.nan
            for k, v in m.items():
                rows.append({"entity": entity, "fold": r.split.name, "model": model, "metric": k, "value": v})
    return rows


def _log_tables(results: list[FoldResult], metrics: pd.DataFrame, config: TrainConfig) -> None:
    mlflow.log_text(results_table(metrics), "results.md")
    mlflow.log_text(metrics.to_csv(index=False), "metrics.csv")
    r = results[0]
    f = r.enterprise_scores
    if "lgbm" in f:
        g = f.rename(columns={"lgbm": "score"})
        for col in ("county", "industry_group"):
            mlflow.log_text(bias_audit(g, col, config.k).to_csv(index=False), f"bias_audit_{col}.csv")
        mlflow.log_text(calibration_table(g).to_csv(index=False), "calibration.csv")
    if hasattr(r.enterprise_model, "importances"):
        imp = r.enterprise_model.importances()
        mlflow.log_text(imp.to_csv(header=["gain"]), "feature_importance.csv")


def _gate_metric(k: int):
    """Precision@k on labelled rows over the latest fold's test dates, ties broken by average precision.

    A month rarely has k concluded investigations, and with fewer labelled rows than k every
    ordering has the same precision@k, so precision@k alone lets a worse model through. The
    tie-break adds 1e-6 × average precision: far below the smallest step of precision@k (1/(k·dates)),
    so it decides only between equal precisions at k."""

    def metric_for(frame: pd.DataFrame):
        def fn(scores: np.ndarray) -> float:
            f = frame.assign(score=scores)
            if "label" not in f:
                return float("nan")
            lab = f[f["label"].notna()]
            by_date = [g for _, g in lab.groupby("as_of")]
            p_at_k = [precision_at_k(g["label"], g["score"], k) for g in by_date]
            aps = [ap(g["label"], g["score"]) for g in by_date if g["label"].nunique() == 2]
            if not p_at_k:
                return float("nan")
            return float(np.nanmean(p_at_k)) + 1e-6 * (float(np.nanmean(aps)) if aps else 0.0)
        return fn
    return metric_for


def _register(choices: list[Choice], latest: FoldResult, config: TrainConfig, last_day, digest: str) -> list[registry.GateDecision]:
    """Log each chosen model, record the comparisons it was chosen on, and pass it through the gate.

    The gate compares the new version with the champion on the latest fold's labelled rows only
    where the champion could not have seen their outcomes (trained at an as-of date before the
    fold's cut); otherwise the new version, trained on more outcomes and having beaten the rules on
    those rows, replaces it."""
    decisions = []
    cut = latest.split.label_horizon
    base_tags = {"trained_until": str(last_day.date()), "test_start": str(latest.split.test_start.date()),
                 "fold_cut": str(cut.date()), "as_of": str(last_day.date()), "snapshot_digest": digest, "config": config.name}
    for choice in choices:
        kind, model, rows = choice.kind, choice.model, choice.rows
        if model is None or rows.empty:
            continue
        comparisons = {f"fold_ap_{k}": f"{v:.4f}" for k, v in choice.comparisons.items() if np.isfinite(v)}
        tags = {**base_tags, "model": choice.source, "choice": choice.reason[:4000], **comparisons}
        in_memory = model.predict_proba(rows)[:, 1]
        version = registry.log_model(model, kind, rows, tags=tags)
        fn = _gate_metric(config.k)(rows)
        champion_as_of = registry.champion_tag(kind, "as_of")
        comparable = champion_as_of is not None and pd.Timestamp(champion_as_of) <= cut
        decision = registry.gate(kind, version, in_memory, rows, fn,
                                 f"precision@{config.k} (labels, latest fold; ties by average precision)",
                                 compare_champion=comparable)
        mlflow.set_tag(f"{kind}_version", version)
        mlflow.set_tag(f"{kind}_model", choice.source)
        for key, value in choice.comparisons.items():
            if np.isfinite(value):
                mlflow.log_metric(_metric_key(kind, "gate", key, "ap"), float(value))
        MlflowClient().set_model_version_tag(registry.NAMES[kind], version, "gate_metric", f"{decision.new_metric:.6g}")
        mlflow.set_tag(f"{kind}_gate", decision.reason)
        decisions.append(decision)
    return decisions


__all__ = ["KS", "LoadedSnapshot", "TrainingError", "TrainingResult", "run_training"]
