"""Benchmark: generation time and peak memory of ``hazleads simulate`` per scale.

    .venv/bin/python benchmarks/bench_simulate.py [--runs small city province:1] [--out benchmarks/results/simulate.md]

Each run (``scale`` or ``scale:months``) executes in its own subprocess, which calls
``simulation.simulate`` into a temporary folder and reports its wall time and its own peak
resident memory (``resource.getrusage(RUSAGE_SELF).ru_maxrss``); the table also gives the rows
written (from ``truth/meta.json``) and the size on disk. Seed 0, start 2021-01.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def worker(scale: str, months: int | None, out: str) -> None:
    sys.path.insert(0, str(ROOT))
    from simulation import simulate

    t0 = time.perf_counter()
    simulate(out, seed=0, scale=scale, months=months)
    wall = time.perf_counter() - t0
    use = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"wall_s": wall, "cpu_s": use.ru_utime + use.ru_stime, "peak_mb": use.ru_maxrss / 1024}))


def run(spec: str) -> dict:
    scale, _, months = spec.partition(":")
    tmp = tempfile.mkdtemp(prefix=f"bench_sim_{scale}_")
    try:
        cmd = [sys.executable, __file__, "--worker", scale, months or "0", tmp]
        res = subprocess.run(cmd, capture_output=True, text=True, check=True)
        out = json.loads(res.stdout.strip().splitlines()[-1])
        meta = json.loads((Path(tmp) / "truth" / "meta.json").read_text(encoding="utf-8"))
        size = sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file())
        return {"spec": spec, "scale": scale, "months": meta["months"], **out, "disk_mb": size / 2**20, "counts": meta["counts"]}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", nargs="+", default=["small", "city", "province:1"])
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "simulate.md"))
    ap.add_argument("--worker", nargs=3, metavar=("SCALE", "MONTHS", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        scale, months, out = args.worker
        worker(scale, int(months) or None, out)
        return
    load0 = os.getloadavg()
    rows = []
    for spec in args.runs:
        r = run(spec)
        print(f"{spec}: {r['wall_s']:.1f} s wall, {r['cpu_s']:.1f} s CPU, peak {r['peak_mb']:.0f} MB, {r['counts']['fixes']:,} fixes",
              flush=True)
        rows.append(r)
    import numpy
    import pandas
    import pyarrow

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    lines = [
        "# Simulation benchmark",
        "",
        f"Command: `.venv/bin/python benchmarks/bench_simulate.py --runs {' '.join(args.runs)}`",
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M')}.",
        f"- CPU: {cpu}, {os.cpu_count()} logical cores (the simulator uses one); load average at start "
        f"{load0[0]:.1f}, {load0[1]:.1f}, {load0[2]:.1f}",
        f"- python {platform.python_version()}, numpy {numpy.__version__}, pandas {pandas.__version__}, pyarrow {pyarrow.__version__}",
        "",
        "Seed 0, start 2021-01. Each run is its own process; peak memory is that process's maximum resident set; CPU time "
        "(user + system) is the better measure on a busy shared machine, where wall time stretches.",
        "",
        "| run | months | wall time | CPU time | peak memory | enterprises | vehicles | manifests | electricity rows | GPS fixes | "
        "fixes per CPU s | tips | cases | on disk |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        c = r["counts"]
        lines.append(f"| {r['scale']} | {r['months']} | {r['wall_s']:.1f} s | {r['cpu_s']:.1f} s | {r['peak_mb']:,.0f} MB | "
                     f"{c['enterprises']:,} | {c['vehicles']:,} | {c['manifests']:,} | {c['electricity_rows']:,} | {c['fixes']:,} | "
                     f"{c['fixes'] / r['cpu_s']:,.0f} | {c['tips']:,} | {c['cases']:,} | {r['disk_mb']:,.0f} MB |")
    load1 = os.getloadavg()
    lines += ["", f"Load average at the end: {load1[0]:.1f}, {load1[1]:.1f}, {load1[2]:.1f} (a shared machine slows every row alike).",
              "Small writes CSV only; city and province write trajectories and electricity as Parquet part folders, one part a "
              "month, generated a month at a time (province: ledgers and manifests as Parquet too). "
              "`province:1` is a one-month slice of the province (the full year is about twelve times the GPS part).", ""]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines), encoding="utf-8")
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
