"""Every benchmark, one after another, each writing its table into ``benchmarks/results/`` (``make bench``).

    .venv/bin/python -m benchmarks.run_all [--only validate stops ...] [--quick]

The full set takes about two hours on two cores (the ten-minute soak and the province slices are
the long ones); ``--quick`` runs the short forms (small scale, one-minute soak) to check that every
benchmark still works. BENCHMARKS.md summarises the latest full results.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

PY = sys.executable
FULL = {
    "validate": [PY, "-m", "benchmarks.bench_validate"],
    "stops": [PY, "benchmarks/bench_stops.py"],
    "driving": [PY, "benchmarks/bench_driving.py", "--run", "city:12"],
    "simulate": [PY, "benchmarks/bench_simulate.py", "--runs", "small", "city", "province:1"],
    "build": [PY, "benchmarks/bench_build.py", "--runs", "small", "city", "province:1", "province:3"],
    "train": [PY, "benchmarks/bench_train.py", "--runs", "small", "city"],
    "service": [PY, "benchmarks/bench_service.py"],
    "request_parts": [PY, "benchmarks/bench_request_parts.py", "--out", "benchmarks/results/request_parts.md"],
    "detail": [PY, "benchmarks/bench_detail.py", "--scale", "city"],
    "soak": [PY, "benchmarks/soak.py", "--minutes", "10"],
}
QUICK = {
    "validate": [PY, "-m", "benchmarks.bench_validate", "--fixes", "200000", "--out", "/tmp/hazleads-validate.md"],
    "stops": [PY, "benchmarks/bench_stops.py", "--sizes", "200000", "--mpd-sample", "5000", "--out", "/tmp/hazleads-stops.md"],
    "driving": [PY, "benchmarks/bench_driving.py", "--run", "small", "--repeats", "1", "--out", "/tmp/hazleads-driving.md"],
    "simulate": [PY, "benchmarks/bench_simulate.py", "--runs", "small", "--out", "/tmp/hazleads-simulate.md"],
    "build": [PY, "benchmarks/bench_build.py", "--runs", "small", "--out", "/tmp/hazleads-build.md"],
    "train": [PY, "benchmarks/bench_train.py", "--runs", "small", "--out", "/tmp/hazleads-train.md"],
    "service": [PY, "benchmarks/bench_service.py", "--requests", "200", "--intake-requests", "30", "--out", "/tmp/hazleads-service.md"],
    "request_parts": [PY, "benchmarks/bench_request_parts.py", "--n", "200", "--out", "/tmp/hazleads-request-parts.md"],
    "detail": [PY, "benchmarks/bench_detail.py", "--quick", "--out", "/tmp/hazleads-detail.md"],
    "soak": [PY, "benchmarks/soak.py", "--minutes", "1", "--out", "/tmp/hazleads-soak.md"],
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="+", choices=list(FULL), default=list(FULL))
    ap.add_argument("--quick", action="store_true", help="short forms, results under /tmp")
    args = ap.parse_args()
    commands = QUICK if args.quick else FULL
    failed = []
    for name in args.only:
        print(f"\n==== {name}: {' '.join(commands[name][1:])}", flush=True)
        t = time.perf_counter()
        rc = subprocess.run(commands[name]).returncode
        print(f"==== {name}: {'ok' if rc == 0 else f'FAILED ({rc})'} in {time.perf_counter() - t:.0f} s", flush=True)
        if rc:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
