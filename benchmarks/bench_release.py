"""Benchmark: a Dask worker's memory with the fixes on the cluster, the vehicle groups' frames kept
beside their stop index (before issue 18 item 4) or released once it is built (now).

    .venv/bin/python benchmarks/bench_release.py [--run town] [--workers 2] [--cache /tmp/hazleads-bench]
        [--out benchmarks/results/release.md]

Each mode runs in its own process with its own ``LocalCluster`` (one thread a worker): load the
snapshot with ``trajectories="cluster"``, build the stop index, build the features at the last day.
Per worker: resident memory after the load, after the index, after the features, its peak during
the load and its peak from the index on (the kernel's high-water mark, reset after the load), and
what Dask holds for it (the sum of ``sizeof`` of its keys). A snapshot whose fixes are one CSV file
(``small``, ``town``) is copied once with them as Parquet row groups of ``ROWS_PER_GROUP`` fixes,
as the province writes them, so the load is cut into units as there. Both modes run in one
invocation, so the ratios are of one machine state.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_build import close_cluster, open_cluster, run_measured, snapshot_for  # noqa: E402
from benchmarks.machine import facts, print_facts  # noqa: E402

MODES = ("kept", "released")
ROWS_PER_GROUP = 1 << 18


def parquet_copy(folder: Path) -> Path:
    """``folder`` with its trajectories as a Parquet file of row groups (made once; itself if already so)."""
    import shutil

    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not (folder / "trajectories.csv").exists():
        return folder
    out = folder.with_name(folder.name + "-parquet")
    if not (out / "trajectories.parquet" / "part-0.parquet").exists():
        shutil.copytree(folder, out, ignore=shutil.ignore_patterns("trajectories.csv"), dirs_exist_ok=True)
        fixes = pd.read_csv(folder / "trajectories.csv", parse_dates=["ts"], dtype={"vehicle_id": "str", "driver_id": "str"})
        (out / "trajectories.parquet").mkdir(exist_ok=True)
        pq.write_table(pa.Table.from_pandas(fixes, preserve_index=False), out / "trajectories.parquet" / "part-0.parquet",
                       row_group_size=ROWS_PER_GROUP)
    return out


def _worker_memory(dask_worker) -> dict:
    import psutil
    from dask.sizeof import sizeof

    hwm = 0
    for line in Path("/proc/self/status").read_text().splitlines():  # VmHWM: peak resident since start or reset
        if line.startswith("VmHWM:"):
            hwm = int(line.split()[1]) * 1024
    return {"rss": psutil.Process().memory_info().rss, "peak": hwm,
            "held": sum(sizeof(v) for v in dask_worker.data.values())}


def _reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # Linux: the high-water mark restarts from the current resident size


def measure(folder: str, mode: str, workers: int) -> dict:
    from features import load_snapshot
    from features.build import build
    from features.trajectory_features import build_stop_index

    cluster, client = open_cluster(workers)
    out: dict = {"mode": mode}

    def mark(step: str) -> None:
        per = client.run(_worker_memory)
        for key in ("rss", "held"):
            out[f"{step}_{key}_mb"] = max(m[key] for m in per.values()) / 2**20
        out[f"{step}_peak_mb"] = max(m["peak"] for m in per.values()) / 2**20

    t = time.perf_counter()
    snap = load_snapshot(folder, trajectories="cluster", client=client)
    snap.trajectories.keep_frames = mode == "kept"
    out["load_s"] = time.perf_counter() - t
    mark("load")
    client.run(_reset_peak)
    t = time.perf_counter()
    index = build_stop_index(snap)
    out["index_s"] = time.perf_counter() - t
    mark("index")
    t = time.perf_counter()
    fs = build(snap, snap.last_day, trajectory_index=index, engine="dask", dask_client=client)
    out["features_s"] = time.perf_counter() - t
    mark("features")
    out.update(fixes=len(snap.trajectories), groups=len(index.parts), stops=len(fs.stops),
               released=snap.trajectories.released)
    close_cluster(cluster, client)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", default="town")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/hazleads-bench"))
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "release.md")
    ap.add_argument("--measure", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        folder, mode, workers = args.measure
        print(json.dumps(measure(folder, mode, int(workers))))
        return
    print_facts()
    folder = parquet_copy(snapshot_for(args.run, args.cache))
    load0, started = os.getloadavg(), time.strftime("%Y-%m-%d %H:%M")
    rows = {mode: run_measured("measure", [str(folder), mode, str(args.workers)], __file__) for mode in MODES}
    load1 = os.getloadavg()
    k, r = rows["kept"], rows["released"]
    f = facts()
    lines = ["# A worker's memory: vehicle-group frames kept or released once the stop index is built", "",
             f"Command: `.venv/bin/python benchmarks/bench_release.py --run {args.run} --workers {args.workers}`", "",
             f"Run {started}; commit {f['commit']}; {f['cores']} logical cores, RAM {f['memory']}; load average "
             f"{load0[0]:.1f} at start, {load1[0]:.1f} at the end. {r['fixes']:,} fixes in {r['groups']} vehicle groups "
             f"on {args.workers} workers (one thread each); the largest worker at each step.", "",
             "| step | kept: resident MB | released: resident MB | released / kept | kept: Dask holds MB | "
             "released: Dask holds MB |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for step in ("load", "index", "features"):
        lines.append(f"| after {step} | {k[f'{step}_rss_mb']:,.0f} | {r[f'{step}_rss_mb']:,.0f} | "
                     f"{r[f'{step}_rss_mb'] / k[f'{step}_rss_mb']:.2f} | {k[f'{step}_held_mb']:,.0f} | {r[f'{step}_held_mb']:,.0f} |")
    for step, what in (("load", "peak during the load"), ("features", "peak from the index on")):
        lines.append(f"| {what} | {k[f'{step}_peak_mb']:,.0f} | {r[f'{step}_peak_mb']:,.0f} | "
                     f"{r[f'{step}_peak_mb'] / k[f'{step}_peak_mb']:.2f} | | |")
    lines += ["", f"Times (s), kept / released: load {k['load_s']:.1f} / {r['load_s']:.1f}, index {k['index_s']:.1f} / "
              f"{r['index_s']:.1f}, features {k['features_s']:.1f} / {r['features_s']:.1f}; stops {k['stops']:,} / {r['stops']:,}.",
              "Resident memory includes the worker's Python, NumPy, pandas and numba (a few hundred MB before any data); "
              "\"Dask holds\" is the sum of `sizeof` over the worker's keys (frames, index parts).", ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
