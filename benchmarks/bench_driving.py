"""Benchmark: driving-violation detection (``features.driving``) in fixes per second, and what it
adds to building features at one as-of date, on the simulated city.

    .venv/bin/python benchmarks/bench_driving.py [--run city:12] [--cache /tmp/hazleads-bench] [--repeats 3]
        [--out benchmarks/results/driving.md]

The run is ``scale[:months]`` (seed 0, simulated into ``--cache`` once; ``city`` alone is the full
36 months). The snapshot is loaded and its stop index built once (as ``hazleads score`` and
training do), then ``driving_events`` runs at the last day (the 90-day window and 2 days of margin:
the fixes it reads are counted) and, for the throughput over every fix, with a window as long as
the snapshot. Best of ``--repeats``; CPU time beside wall time (the machine is shared). Detection
reuses the stop index's cleaned, sorted arrays: it never sorts or cleans the fixes again.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_build import snapshot_for  # noqa: E402
from benchmarks.machine import facts, print_facts  # noqa: E402


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def timed(fn, repeats: int) -> tuple[float, float, object]:
    best_wall, best_cpu, out = float("inf"), float("inf"), None
    for _ in range(repeats):
        t, c = time.perf_counter(), cpu()
        out = fn()
        best_wall, best_cpu = min(best_wall, time.perf_counter() - t), min(best_cpu, cpu() - c)
    return best_wall, best_cpu, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", default="city:12")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/hazleads-bench"))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "driving.md")
    args = ap.parse_args()
    print_facts()
    import pandas as pd

    from features import load_snapshot
    from features.build import build, place_index
    from features.driving import DrivingParams, driving_events
    from features.driving_track import attach_fix_attributes
    from features.trajectory_features import build_stop_index
    from features.vehicle_leads import carrier_totals, vehicle_table

    folder = snapshot_for(args.run, args.cache)
    t = time.perf_counter()
    snap = load_snapshot(folder)
    load_s = time.perf_counter() - t
    index_s, _, index = timed(lambda: build_stop_index(snap), 1)
    places = place_index(snap)
    day = snap.last_day
    attach_s, _, _ = timed(lambda: attach_fix_attributes(index, snap.trajectories), 1)
    driving_events(snap, day, index, places)  # compile the kernels (numba's cache) before timing
    c = day + pd.Timedelta(days=1)
    read = int(((index.fixes.ts >= (c - pd.Timedelta(days=92)).value) & (index.fixes.ts < c.value)).sum())
    wall90, cpu90, ev90 = timed(lambda: driving_events(snap, day, index, places), args.repeats)
    days = int((day - snap.trajectories["ts"].min().normalize()).days) + 1
    whole = DrivingParams(window_days=days)
    wall_all, cpu_all, ev_all = timed(lambda: driving_events(snap, day, index, places, whole), args.repeats)
    build_s, _, _ = timed(lambda: build(snap, day, index, places), 1)
    table_s, _, _ = timed(lambda: carrier_totals(vehicle_table(ev90.events, snap.vehicles, snap.enterprises)), args.repeats)
    n_all = len(index.fixes)
    rows = [
        ("90-day window at the last day (as `hazleads score`)", read, wall90, cpu90, len(ev90.events)),
        (f"every fix ({days} days)", n_all, wall_all, cpu_all, len(ev_all.events)),
    ]
    f = facts()
    lines = ["# Driving-violation detection benchmark", "",
             f"Command: `.venv/bin/python benchmarks/bench_driving.py {' '.join(sys.argv[1:])}`", "",
             f"Run {time.strftime('%Y-%m-%d %H:%M')} on {f['cpu']} ({f['cores']} cores, {f['memory']}), commit {f['commit']}; "
             f"pandas {f.get('pandas')}, numpy {f.get('numpy')}, numba {f.get('numba')}.", "",
             f"Snapshot: simulated `{args.run}` (seed 0): {len(snap.trajectories):,} fixes, {len(snap.vehicles):,} vehicles, "
             f"{sum(p.kind == 'restricted' for p in snap.places)} restricted zones, {sum(p.kind == 'road' for p in snap.places)} roads. "
             f"Load {load_s:.1f} s; stop index (cleaning, sorting, stops: shared with the stop features) {index_s:.1f} s; "
             f"reported speed and driver read onto the index once {attach_s:.2f} s.", "",
             "| detection | fixes read | wall s | CPU s | fixes/s (wall) | fixes/s (CPU) | events |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for label, n, w, c_, e in rows:
        lines.append(f"| {label} | {n:,} | {w:.2f} | {c_:.2f} | {n / w:,.0f} | {n / c_:,.0f} | {e:,} |")
    lines += ["", f"`features.build` at the last day takes {build_s:.1f} s and does not run the rules: "
              "`FeatureSet.driving` computes them when first read (by `hazleads score`; training, which builds at "
              f"dozens of dates, never reads them). Reading them costs the 90-day detection above ({wall90:.2f} s) and "
              f"the vehicle table with its reasons and the carrier totals ({table_s:.2f} s).",
              f"Best of {args.repeats}; the build once. Fixes per second of CPU time: {rows[0][1] / cpu90:,.0f} "
              f"(90 days) and {rows[1][1] / cpu_all:,.0f} (every fix)."]
    text = "\n".join(lines) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
