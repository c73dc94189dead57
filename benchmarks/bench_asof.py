"""Benchmark: features at many monthly as-of dates of one snapshot, plain (each date from scratch, as
before) against incremental (one ``features.incremental.AsOfCache`` shared by the dates), alternated
date by date in one process so that both see the same machine load.

    .venv/bin/python benchmarks/bench_asof.py [--run city] [--dates 12] [--cache /tmp/hazleads-bench]
        [--out benchmarks/results/asof.md] [--plain-only [--code CHECKOUT]]

The snapshot (``scale[:months]``, seed 0) is loaded and its stops detected once (not timed here:
``bench_build.py`` times them). Then for each of the last ``--dates`` month ends, oldest first: a
plain ``build`` and a cached ``build``; their tables are checked equal (every column, NaNs equal)
and each one's CPU and wall time recorded. The cache is warmed only by the dates before, as in
``training.dataset.build_dataset``. ``--plain-only --code CHECKOUT`` times plain builds alone with the feature
code of another checkout (one without ``features.incremental``): the code before.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_build import snapshot_for  # noqa: E402
from benchmarks.machine import facts, print_facts  # noqa: E402

TABLES = ("enterprise", "tip", "site", "ledger_mismatch", "manifest_checks", "stops", "vehicle")


def features_file() -> str:
    import features

    return features.__file__


def _timed(fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", default="city")
    ap.add_argument("--dates", type=int, default=12)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/hazleads-bench"))
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "asof.md")
    ap.add_argument("--plain-only", action="store_true")
    ap.add_argument("--code", type=Path, help="take the feature code from this checkout (the code before)")
    args = ap.parse_args()
    if args.code:
        sys.path.insert(0, str(args.code.resolve()))
    import pandas as pd

    from features import load_snapshot
    from features.build import build, place_index
    from features.trajectory_features import build_stop_index
    from training.splits import monthly_as_of_dates

    print_facts()
    load0, started = os.getloadavg(), time.strftime("%Y-%m-%d %H:%M")
    snap = load_snapshot(snapshot_for(args.run, args.cache))
    index, places = build_stop_index(snap), place_index(snap)
    first = min(snap.electricity["date"].min(), snap.manifests["departed_at"].min()).normalize()
    dates = monthly_as_of_dates(first, snap.last_day, 90)[-args.dates:]
    if not args.plain_only:
        from features.incremental import AsOfCache

        shared = AsOfCache()
    rows = []
    for d in dates:
        plain, pw, pc = _timed(lambda d=d: build(snap, d, trajectory_index=index, places=places))
        iw = ic = float("nan")
        if not args.plain_only:
            inc, iw, ic = _timed(lambda d=d: build(snap, d, trajectory_index=index, places=places, cache=shared))
            for name in TABLES:
                pd.testing.assert_frame_equal(getattr(inc, name), getattr(plain, name), check_exact=True)
        rows.append((d, pw, pc, iw, ic))
        print(f"{d.date()}: plain {pw:.1f} s (CPU {pc:.1f}), incremental {iw:.1f} s (CPU {ic:.1f})"
              + ("" if args.plain_only else ", equal"), flush=True)
    load1, f = os.getloadavg(), facts()
    tot = [sum(r[i] for r in rows) for i in range(1, 5)]
    warm = [sum(r[i] for r in rows[1:]) / max(len(rows) - 1, 1) for i in range(1, 5)]
    lines = ["# Features at many as-of dates: plain against incremental", "",
             f"Command: `.venv/bin/python benchmarks/bench_asof.py --run {args.run} --dates {args.dates}"
             + (f" --plain-only{f' --code {args.code}' if args.code else ''}`" if args.plain_only else "`"), "",
             f"Run {started}; commit {f['commit']}; features from {Path(features_file()).parent}.",
             f"- CPU: {f['cpu']}, {f['cores']} logical cores; load average at start {load0[0]:.1f}, {load0[1]:.1f}, "
             f"{load0[2]:.1f}, at the end {load1[0]:.1f}, {load1[1]:.1f}, {load1[2]:.1f} (a shared machine: CPU time is "
             "the steadier measure)",
             f"- {args.run}: {len(snap.enterprises):,} enterprises, {len(snap.manifests):,} manifests, "
             f"{int(snap.report.rows['trajectories']):,} GPS fixes; load and stop detection not timed", "",
             "Each date: a plain build only." if args.plain_only else
             "Each date: a plain build, then a build with the shared cache (warmed by the dates before); "
             "every table checked equal.", "",
             "| as-of | plain s | plain CPU s | incremental s | incremental CPU s |", "| --- | ---: | ---: | ---: | ---: |"]
    lines += [f"| {d.date()} | {pw:.1f} | {pc:.1f} | {iw:.1f} | {ic:.1f} |" for d, pw, pc, iw, ic in rows]
    lines += [f"| **all {len(rows)}** | **{tot[0]:.0f}** | **{tot[1]:.0f}** | **{tot[2]:.0f}** | **{tot[3]:.0f}** |",
              f"| per date after the first | {warm[0]:.1f} | {warm[1]:.1f} | {warm[2]:.1f} | {warm[3]:.1f} |", ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
