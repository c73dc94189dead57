"""Benchmark: training on a snapshot from a cold home, then retraining after one new recorded outcome.

    /usr/bin/time -v .venv/bin/python benchmarks/bench_retrain.py --data /tmp/i18a/city --home H --phase cold
    /usr/bin/time -v .venv/bin/python benchmarks/bench_retrain.py --data /tmp/i18a/city --home H --phase warm

``cold`` trains into a home folder that must not exist yet (every as-of date's features built);
``warm`` trains again in the same home with one outcome recorded since (what the service's
``_train`` job passes as ``recorded_outcomes``: a frame with the ``cases`` columns). Run the two
phases as separate processes so each has its own peak memory (``/usr/bin/time -v``). Prints one
JSON line: wall time per phase of the run (load, features, fit, record), wall and CPU in total
(with the forked feature workers' CPU). ``--as-service`` trains as the service's retraining job
does (``serving.jobs._train``: the dates in this process, the later folds in a process from a fork
server); the CPU then leaves out that worker's, which is not this process's child. ``--repeat N``
retrains N times in one process (warm), as a service does, one JSON line each.
"""

from __future__ import annotations

import argparse
import inspect
import json
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PHASES = (("load", "读取快照"), ("features", "特征"), ("fit", "训练 fitting"), ("record", "记录"))


def one_outcome(data: Path):
    """One outcome recorded through the service since the cold run: a violation found at an enterprise."""
    import pandas as pd

    from serving.repo.outcomes import CASE_COLUMNS, case_id

    ent = pd.read_csv(data / "enterprises.csv", usecols=["enterprise_id"])["enterprise_id"].iloc[0]
    last = pd.read_csv(data / "cases.csv", usecols=["opened"], parse_dates=["opened"])["opened"].max()
    frame = pd.DataFrame([{"case_id": case_id(1), "opened": last, "enterprise_id": ent, "tip_id": None,
                           "outcome": "confirmed", "violation": "dumping_3t", "tonnes": 3.0, "criminal": False}],
                         columns=CASE_COLUMNS)
    frame["opened"] = pd.to_datetime(frame["opened"]).astype("datetime64[ns]")
    return frame


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (the forked feature workers)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--home", type=Path, required=True)
    ap.add_argument("--phase", choices=("cold", "warm"), required=True)
    ap.add_argument("--repeat", type=int, default=1, help="train this many times in this process (warm: as a "
                    "service retrains again and again)")
    ap.add_argument("--as-service", action="store_true",
                    help="train as the service's retraining does: the dates in this process, the later folds "
                         "from a fork server (where the code has it); the CPU then leaves out that worker's")
    args = ap.parse_args()
    if args.phase == "cold" and args.home.exists():
        sys.exit(f"{args.home}: exists; a cold run needs a fresh home folder")
    if args.phase == "cold" and args.repeat > 1:
        sys.exit("--repeat: a cold run is the first run in a home; repeat --phase warm instead")
    if args.phase == "warm" and not args.home.exists():
        sys.exit(f"{args.home}: run --phase cold first")

    from hazleads.settings import Settings
    from training.pipeline import run_training

    marks: list[tuple[str, float]] = []

    def progress(msg: str) -> None:
        for phase, prefix in PHASES:
            if msg.startswith(prefix) and (not marks or marks[-1][0] != phase):
                marks.append((phase, time.perf_counter()))

    outcomes = one_outcome(args.data) if args.phase == "warm" else None
    kw = {}
    if args.as_service:  # what serving.jobs._train passes (older code: no fold_start, the folds in one process)
        kw["feature_workers"] = 1
        if "fold_start" in inspect.signature(run_training).parameters:
            kw["fold_start"] = "forkserver"
    for n in range(args.repeat):  # a service retrains many times in one process
        marks.clear()
        c0, t0 = _cpu(), time.perf_counter()
        result = run_training(args.data, Settings(home=args.home), recorded_outcomes=outcomes, progress=progress, **kw)
        t1, c1 = time.perf_counter(), _cpu()
        out = {"phase": args.phase, **({"as": "service", **kw} if args.as_service else {}),
               **({"run": n + 1} if args.repeat > 1 else {}), "wall_s": round(t1 - t0, 1), "cpu_s": round(c1 - c0, 1),
               "maxrss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2),
               "run_id": result.run_id, "decisions": [d.reason[:80] for d in result.decisions]}
        bounds = [*marks, ("end", t1)]
        for (phase, a), (_, b) in zip(bounds[:-1], bounds[1:], strict=True):
            out[f"{phase}_s"] = round(out.get(f"{phase}_s", 0.0) + b - a, 1)
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
