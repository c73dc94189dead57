"""Run a command and record the memory and CPU of every process of its tree (the client, the Dask
workers a ``LocalCluster`` starts, anything else), sampled with psutil every few seconds.

    .venv/bin/python benchmarks/proc_monitor.py --log /tmp/run.csv [--every 2] [--limit-mb 6144] -- CMD ARGS...

The log has one line a process a sample (time, pid, parent, role, resident MB, peak resident MB,
CPU s). Peak resident memory is the kernel's high-water mark (``VmHWM``), so a peak between two
samples is not missed. At the end one JSON line goes to stdout: wall time, the CPU time of the
whole tree (every process waited for), and each process's role, peak and CPU; the exit status of
the command is this script's. ``--limit-mb`` only marks the processes over it in the summary.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import psutil


def role(p: psutil.Process, root: int) -> str:
    if p.pid == root:
        return "client"
    try:
        cmd = " ".join(p.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return "?"
    if "multiprocessing.spawn" in cmd or "spawn_main" in cmd:
        return "worker"  # a Dask LocalCluster worker process (started by its nanny in the client)
    if "resource_tracker" in cmd or "forkserver" in cmd:
        return "helper"
    return Path(p.name()).name


def peak_mb(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM), in MB (0 when unreadable)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--log", type=Path, required=True)
    ap.add_argument("--every", type=float, default=2.0)
    ap.add_argument("--limit-mb", type=float, default=6144.0)
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    t0 = time.time()
    child = subprocess.Popen(cmd)
    root = psutil.Process(child.pid)
    seen: dict[int, dict] = {}
    args.log.parent.mkdir(parents=True, exist_ok=True)
    with args.log.open("w", encoding="utf-8") as log:
        log.write("t_s,pid,ppid,role,rss_mb,peak_mb,cpu_s\n")
        while True:
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                procs = []
            t = time.time() - t0
            for p in procs:
                try:
                    with p.oneshot():
                        rss = p.memory_info().rss / 2**20
                        cpu = sum(p.cpu_times()[:2])
                        ppid = p.ppid()
                except psutil.NoSuchProcess:
                    continue
                info = seen.setdefault(p.pid, {"pid": p.pid, "role": role(p, root.pid), "first_s": round(t, 1)})
                hwm = max(peak_mb(p.pid), info.get("peak_mb", 0.0), rss)
                info.update(peak_mb=round(hwm, 1), cpu_s=round(cpu, 1), last_s=round(t, 1))
                log.write(f"{t:.1f},{p.pid},{ppid},{info['role']},{rss:.1f},{hwm:.1f},{cpu:.1f}\n")
            log.flush()
            if child.poll() is not None:
                break
            time.sleep(args.every)
    wall = time.time() - t0
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    procs = sorted(seen.values(), key=lambda i: -i["peak_mb"])
    summary = {"cmd": " ".join(cmd), "rc": child.returncode, "wall_s": round(wall, 1),
               "cpu_s": round(kids.ru_utime + kids.ru_stime, 1),
               "over_limit": [i["pid"] for i in procs if i["peak_mb"] > args.limit_mb],
               "processes": [i for i in procs if i["peak_mb"] > 100 or i["role"] in ("client", "worker")]}
    print(json.dumps(summary), flush=True)
    sys.exit(child.returncode)


if __name__ == "__main__":
    main()
