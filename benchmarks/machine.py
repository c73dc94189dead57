"""Facts about the machine a benchmark ran on, printed at the top of every benchmark."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata


def facts() -> dict[str, str]:
    cpu = platform.processor() or ""
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        for line in open("/proc/meminfo", encoding="utf-8"):
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    versions = {}
    for pkg in ("pandas", "numpy", "pyarrow", "numba", "lightgbm", "scikit-learn", "fastapi", "movingpandas", "dask"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return {"cpu": cpu, "cores": str(os.cpu_count()), "memory": mem, "python": sys.version.split()[0],
            "platform": platform.platform(), "commit": commit, **versions}


def print_facts() -> None:
    for k, v in facts().items():
        print(f"{k:>14}: {v}")


def peak_rss_mb(cmd: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """Run ``cmd`` under /usr/bin/time -v: (wall seconds, peak RSS in MB, its stdout)."""
    proc = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True, env=env)
    wall, rss = float("nan"), float("nan")
    for line in proc.stderr.splitlines():
        line = line.strip()
        if line.startswith("Maximum resident set size"):
            rss = int(line.split(":")[1]) / 1024
        elif line.startswith("Elapsed (wall clock) time"):
            t = line.split("):", 1)[1].strip().split(":")
            wall = sum(float(x) * 60**i for i, x in enumerate(reversed(t)))
    if proc.returncode not in (0, 2):
        raise RuntimeError(f"{cmd} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return wall, rss, proc.stdout
