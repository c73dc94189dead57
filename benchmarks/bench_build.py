"""Benchmark: ``features.build`` at one as-of date (the snapshot's last day), per scale, with pandas
on one process and on a Dask ``LocalCluster`` — time and peak memory per process, and how they grow.

    .venv/bin/python benchmarks/bench_build.py [--runs small city province:1 province:3]
        [--engines pandas dask] [--workers 2] [--cache /tmp/hazleads-bench] [--out benchmarks/results/build.md]

A run is ``scale`` or ``scale:months`` (seed 0, start 2021-01; simulated into ``--cache`` once and
reused). Each (run, engine) executes in its own process: load and validate the snapshot (dask: the
fixes are checked and kept on the workers), detect every stop once, build every feature table at
the last day. Peak memory is each process's maximum resident set (``getrusage``): the process that
runs the build (with Dask, the client, which also hosts the scheduler) and the largest Dask worker.
CPU time sums the client and its workers. On a shared machine CPU time is the steadier measure.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.machine import facts, print_facts  # noqa: E402


def snapshot_for(spec: str, cache: Path) -> Path:
    """The simulated snapshot of ``scale[:months]`` (seed 0), written into ``cache`` on first use."""
    scale, _, months = spec.partition(":")
    folder = cache / f"{scale}-{months or 'default'}-seed0"
    if not (folder / "truth" / "meta.json").exists():
        import simulation

        print(f"simulating {spec} into {folder} ...", flush=True)
        simulation.simulate(folder, seed=0, scale=scale, months=int(months) if months else None)
    return folder


def rusage() -> dict:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"client_peak_mb": me.ru_maxrss / 1024, "worker_peak_mb": kids.ru_maxrss / 1024,
            "cpu_s": me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime}


def open_cluster(workers: int):
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
    return cluster, Client(cluster)


def close_cluster(cluster, client) -> None:
    client.close()
    cluster.close()


def build_worker(folder: str, engine: str, workers: int) -> dict:
    """One measured build, in this process (and its workers)."""
    from features import load_snapshot
    from features.build import build
    from features.trajectory_features import build_stop_index

    out: dict = {}
    cluster = client = None
    t0 = time.perf_counter()
    if engine == "dask":
        cluster, client = open_cluster(workers)
        out["cluster_s"] = time.perf_counter() - t0
    t = time.perf_counter()
    snap = load_snapshot(folder, **({"trajectories": "cluster", "client": client} if client else {}))
    out["load_s"] = time.perf_counter() - t
    t = time.perf_counter()
    index = build_stop_index(snap)  # with the fixes on the cluster: built there, split by vehicle
    out["stops_s"] = time.perf_counter() - t
    t = time.perf_counter()
    fs = build(snap, snap.last_day, trajectory_index=index)
    out["features_s"] = time.perf_counter() - t
    out["wall_s"] = time.perf_counter() - t0
    out.update(as_of=str(snap.last_day.date()), enterprises=len(snap.enterprises), vehicles=len(snap.vehicles),
               fixes=int(snap.report.rows["trajectories"]), manifests=len(snap.manifests),
               electricity=len(snap.electricity), stops=len(fs.stops), feature_rows=len(fs.enterprise),
               feature_columns=fs.enterprise.shape[1])
    del fs, index, snap
    if client is not None:
        close_cluster(cluster, client)
    out.update(rusage())
    return out


def run_measured(kind: str, args: list[str], script: str = __file__) -> dict:
    """``script --kind args...`` in a new process; its last line of output is a JSON object."""
    cmd = [sys.executable, script, f"--{kind}", *args]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def table(rows: list[dict]) -> list[str]:
    lines = ["| run | engine | enterprises | vehicles | GPS fixes | manifests | load s | stops s | features s | total s | "
             "CPU s | client peak MB | worker peak MB | fixes / CPU s |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        worker = f"{r['worker_peak_mb']:,.0f}" if r["engine"] == "dask" else "–"
        lines.append(f"| {r['spec']} | {r['engine']} | {r['enterprises']:,} | {r['vehicles']:,} | {r['fixes']:,} | "
                     f"{r['manifests']:,} | {r['load_s']:.1f} | {r['stops_s']:.1f} | {r['features_s']:.1f} | "
                     f"{r['load_s'] + r['stops_s'] + r['features_s']:.1f} | {r['cpu_s']:.1f} | {r['client_peak_mb']:,.0f} | "
                     f"{worker} | {r['fixes'] / r['cpu_s']:,.0f} |")
    return lines


def growth(rows: list[dict]) -> list[str]:
    """Each run against the smallest run of the same engine: how much more data, time and memory."""
    lines = ["| run | engine | × fixes | × enterprises | × CPU time | × total time | × peak memory (largest process) |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for engine in dict.fromkeys(r["engine"] for r in rows):
        mine = [r for r in rows if r["engine"] == engine]
        base = min(mine, key=lambda r: r["fixes"])
        for r in mine:
            peak = max(r["client_peak_mb"], r["worker_peak_mb"] if engine == "dask" else 0)
            bpeak = max(base["client_peak_mb"], base["worker_peak_mb"] if engine == "dask" else 0)
            total = r["load_s"] + r["stops_s"] + r["features_s"]
            btotal = base["load_s"] + base["stops_s"] + base["features_s"]
            lines.append(f"| {r['spec']} | {engine} | {r['fixes'] / base['fixes']:.1f} | {r['enterprises'] / base['enterprises']:.1f} | "
                         f"{r['cpu_s'] / base['cpu_s']:.1f} | {total / btotal:.1f} | {peak / bpeak:.1f} |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", nargs="+", default=["small", "city", "province:1", "province:3"])
    ap.add_argument("--engines", nargs="+", default=["pandas", "dask"], choices=["pandas", "dask"])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/hazleads-bench"))
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "build.md")
    ap.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        folder, engine, workers = args.worker
        print(json.dumps(build_worker(folder, engine, int(workers))))
        return
    print_facts()
    load0 = os.getloadavg()
    started = time.strftime("%Y-%m-%d %H:%M")
    rows = []
    for spec in args.runs:
        folder = snapshot_for(spec, args.cache)
        for engine in args.engines:
            r = {"spec": spec, "engine": engine, **run_measured("worker", [str(folder), engine, str(args.workers)])}
            print(f"{spec} {engine}: load {r['load_s']:.1f} s, stops {r['stops_s']:.1f} s, features {r['features_s']:.1f} s, "
                  f"CPU {r['cpu_s']:.1f} s, client peak {r['client_peak_mb']:,.0f} MB, worker peak {r['worker_peak_mb']:,.0f} MB",
                  flush=True)
            rows.append(r)
    load1 = os.getloadavg()
    f = facts()
    cmd = f".venv/bin/python benchmarks/bench_build.py --runs {' '.join(args.runs)} --engines {' '.join(args.engines)} --workers {args.workers}"
    lines = ["# Feature build benchmark", "", f"Command: `{cmd}`", "",
             f"Run {started}; commit {f['commit']}.",
             f"- CPU: {f['cpu']}, {f['cores']} logical cores; RAM {f['memory']}; load average at start "
             f"{load0[0]:.1f}, {load0[1]:.1f}, {load0[2]:.1f}, at the end {load1[0]:.1f}, {load1[1]:.1f}, {load1[2]:.1f} "
             "(a shared machine: wall times stretch with the load, CPU time much less)",
             f"- python {f['python']}, pandas {f.get('pandas')}, numpy {f.get('numpy')}, pyarrow {f.get('pyarrow')}, "
             f"numba {f.get('numba')}, dask {f.get('dask')}",
             f"- dask: a `LocalCluster` of {args.workers} worker processes, one thread each, on the same machine",
             "", "What is timed, at the snapshot's last day: **load** (read and validate every table; dask: the fixes are read, "
             "checked, split by vehicle and sorted on the workers, never in the client), **stops** (clean the fixes and detect "
             "every stop once; dask: per vehicle group on the workers), **features** (every feature table at the as-of date; "
             "dask: stops, silent stays and each manifest's GPS evidence per vehicle group on the workers, the rest in the client).",
             "", *table(rows), "", "Growth against the smallest run of each engine:", "", *growth(rows), "",
             "Client peak includes the Dask scheduler (it runs in the client process of a `LocalCluster`). With pandas the one "
             "process holds every fix; with Dask the largest process holds the small tables (client) or its share of the fixes "
             "(worker).", ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
