"""Benchmark: ``hazleads train`` and ``hazleads score`` per scale, with pandas on one process and on a
Dask ``LocalCluster`` (fixes kept on the workers, LightGBM through its Dask interface).

    .venv/bin/python benchmarks/bench_train.py [--runs small city province:12] [--engines pandas dask]
        [--workers 2] [--cache /tmp/hazleads-bench] [--out benchmarks/results/train.md]

A run is ``scale`` or ``scale:months`` (seed 0, start 2021-01, simulated into ``--cache`` once).
Training must see at least eight months (history, calibration, a 90-day label window and a test
month), so the province is benchmarked over a year. Each (run, engine) trains in its own process
with a fresh home folder (no feature cache, a new MLflow store: every as-of date is built), then
scores the last day with the champions in another process. Times are split by what the run
reports doing (load, features at every as-of date, fitting the folds, recording and registering);
peak memory is per process (the client, which also hosts the Dask scheduler, and the largest
worker); CPU time sums the client and its workers.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_build import close_cluster, open_cluster, run_measured, rusage, snapshot_for  # noqa: E402
from benchmarks.machine import facts, print_facts  # noqa: E402

PHASES = (("load", "读取快照"), ("features", "特征"), ("fit", "训练 fitting"), ("record", "记录"))


def train_worker(folder: str, engine: str, workers: int, home: str) -> dict:
    from hazleads.settings import Settings
    from training.pipeline import run_training

    marks: list[tuple[str, float]] = []

    def progress(msg: str) -> None:
        for phase, prefix in PHASES:
            if msg.startswith(prefix) and (not marks or marks[-1][0] != phase):
                marks.append((phase, time.perf_counter()))

    cluster = client = None
    t0 = time.perf_counter()
    if engine == "dask":
        cluster, client = open_cluster(workers)
    t_start = time.perf_counter()
    result = run_training(folder, Settings(home=Path(home)), progress=progress, client=client)
    t_end = time.perf_counter()
    out = {"wall_s": t_end - t0, "cluster_s": t_start - t0, "train_s": t_end - t_start}
    bounds = [*marks, ("end", t_end)]
    for (phase, a), (_, b) in zip(bounds[:-1], bounds[1:], strict=True):
        out[f"{phase}_s"] = out.get(f"{phase}_s", 0.0) + b - a
    m = result.metrics
    lgbm = m[(m.entity == "enterprise") & (m.model == "lgbm") & (m.metric == "truth/precision@20")]
    rules = m[(m.entity == "enterprise") & (m.model == "rules") & (m.metric == "truth/precision@20")]
    out.update(folds=int(m["fold"].nunique()), as_of=str(result.as_of.date()),
               lgbm_p20=float(lgbm["value"].mean()) if len(lgbm) else float("nan"),
               rules_p20=float(rules["value"].mean()) if len(rules) else float("nan"),
               promoted=[d.promoted for d in result.decisions])
    if client is not None:
        close_cluster(cluster, client)
    out.update(rusage())
    return out


def score_worker(folder: str, engine: str, workers: int, home: str) -> dict:
    from features import load_snapshot
    from features.snapshot import snapshot_digest
    from hazleads.settings import Settings
    from training import registry
    from training.distributed import score_on_cluster
    from training.score import score_snapshot

    settings = Settings(home=Path(home))
    registry.configure(settings)
    ent = registry.load_version("enterprise", alias=registry.CHAMPION, cache=settings.models_dir)
    try:
        tip = registry.load_version("tip", alias=registry.CHAMPION, cache=settings.models_dir)
    except registry.ModelLoadError:
        tip = None
    versions = {"enterprise": ent.version, "tip": tip.version if tip else ""}
    cluster = client = None
    t0 = time.perf_counter()
    if engine == "dask":
        cluster, client = open_cluster(workers)
    t = time.perf_counter()
    snap = load_snapshot(folder, **({"trajectories": "cluster", "client": client} if client else {}))
    load_s = time.perf_counter() - t
    t = time.perf_counter()
    args = (snap, snap.last_day, ent.model, tip.model if tip else None, versions, snapshot_digest(folder))
    leads = score_on_cluster(*args, client) if client else score_snapshot(*args)
    score_s = time.perf_counter() - t
    out = {"wall_s": time.perf_counter() - t0, "load_s": load_s, "score_s": score_s,
           "enterprises": len(leads.enterprise), "tips": len(leads.tip), "sites": len(leads.site)}
    if client is not None:
        close_cluster(cluster, client)
    out.update(rusage())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", nargs="+", default=["small", "city", "province:12"])
    ap.add_argument("--engines", nargs="+", default=["pandas", "dask"], choices=["pandas", "dask"])
    ap.add_argument("--skip", nargs="*", default=[], metavar="RUN:ENGINE", help="pairs not to run, e.g. province:12:pandas")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/hazleads-bench"))
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "train.md")
    ap.add_argument("--train-worker", nargs=4, help=argparse.SUPPRESS)
    ap.add_argument("--score-worker", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.train_worker or args.score_worker:
        folder, engine, workers, home = args.train_worker or args.score_worker
        fn = train_worker if args.train_worker else score_worker
        print(json.dumps(fn(folder, engine, int(workers), home)))
        return
    print_facts()
    load0, started = os.getloadavg(), time.strftime("%Y-%m-%d %H:%M")
    rows = []
    for spec in args.runs:
        folder = snapshot_for(spec, args.cache)
        meta = json.loads((folder / "truth" / "meta.json").read_text(encoding="utf-8"))["counts"]
        for engine in args.engines:
            if f"{spec}:{engine}" in args.skip:
                continue
            with tempfile.TemporaryDirectory(prefix="hz-bench-train-") as home:
                tr = run_measured("train-worker", [str(folder), engine, str(args.workers), home], __file__)
                sc = run_measured("score-worker", [str(folder), engine, str(args.workers), home], __file__)
            rows.append({"spec": spec, "engine": engine, "counts": meta, "train": tr, "score": sc})
            print(f"{spec} {engine}: train {tr['train_s']:.0f} s (CPU {tr['cpu_s']:.0f} s, client {tr['client_peak_mb']:,.0f} MB, "
                  f"worker {tr['worker_peak_mb']:,.0f} MB), score {sc['load_s'] + sc['score_s']:.0f} s", flush=True)
    load1 = os.getloadavg()
    f = facts()
    cmd = (f".venv/bin/python benchmarks/bench_train.py --runs {' '.join(args.runs)} --engines {' '.join(args.engines)} "
           f"--workers {args.workers}" + (f" --skip {' '.join(args.skip)}" if args.skip else ""))
    lines = ["# Training and scoring benchmark", "", f"Command: `{cmd}`", "",
             f"Run {started}; commit {f['commit']}.",
             f"- CPU: {f['cpu']}, {f['cores']} logical cores; RAM {f['memory']}; load average at start "
             f"{load0[0]:.1f}, {load0[1]:.1f}, {load0[2]:.1f}, at the end {load1[0]:.1f}, {load1[1]:.1f}, {load1[2]:.1f} "
             "(a shared machine: wall times stretch with the load)",
             f"- python {f['python']}, pandas {f.get('pandas')}, lightgbm {f.get('lightgbm')}, dask {f.get('dask')}",
             f"- dask: a `LocalCluster` of {args.workers} worker processes, one thread each, started for each command "
             "(its start is not in the times)", "",
             "## Training (`hazleads train`, default experiment, fresh home: every as-of date built)", "",
             "| run | engine | enterprises | GPS fixes | folds | load s | features s | fit s | record s | total s | CPU s | "
             "client peak MB | worker peak MB | LightGBM p@20 (truth) | rules p@20 |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        t, c = r["train"], r["counts"]
        worker = f"{t['worker_peak_mb']:,.0f}" if r["engine"] == "dask" else "–"
        lines.append(f"| {r['spec']} | {r['engine']} | {c['enterprises']:,} | {c['fixes']:,} | {t['folds']} | "
                     f"{t.get('load_s', 0):.0f} | {t.get('features_s', 0):.0f} | {t.get('fit_s', 0):.0f} | {t.get('record_s', 0):.0f} | "
                     f"{t['train_s']:.0f} | {t['cpu_s']:.0f} | {t['client_peak_mb']:,.0f} | {worker} | {t['lgbm_p20']:.2f} | "
                     f"{t['rules_p20']:.2f} |")
    lines += ["", "## Scoring (`hazleads score` at the last day with the champions)", "",
              "| run | engine | load s | build + score + reasons s | total s | CPU s | client peak MB | worker peak MB | "
              "enterprises | open tips | sites |",
              "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        s = r["score"]
        worker = f"{s['worker_peak_mb']:,.0f}" if r["engine"] == "dask" else "–"
        lines.append(f"| {r['spec']} | {r['engine']} | {s['load_s']:.0f} | {s['score_s']:.0f} | {s['load_s'] + s['score_s']:.0f} | "
                     f"{s['cpu_s']:.0f} | {s['client_peak_mb']:,.0f} | {worker} | {s['enterprises']:,} | {s['tips']:,} | {s['sites']:,} |")
    lines += ["", "Phases follow the run's own progress messages: load (validate every table; dask: fixes checked and kept on "
              "the workers), features (every as-of date the folds need, stops detected once), fit (every model and baseline of "
              "every fold; dask: LightGBM data-parallel over the workers), record (MLflow run, plots, model registration and "
              "the promotion gate). LightGBM on Dask bins and bags each worker's rows, so its precision differs a little from "
              "the one-process model; both are shown against the rule baseline. Client peak includes the Dask scheduler.", ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
