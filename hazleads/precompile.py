"""Compile the pipeline's Numba kernels once, at install, instead of in a user's first run.

The stop scan, the fix sort, the trip and driving kernels are Numba functions cached on disk
(``cache=True``: ``__pycache__`` beside their source, or ``NUMBA_CACHE_DIR``). Each is compiled the
first time it runs with a given signature, and that first compile costs about 40 CPU-seconds in all
on these machines (a cold city training: 74–96 s on a fresh checkout, 52–63 s once compiled). So
``make install`` runs ``hazleads precompile``: the real pipeline on a three-month ``small`` city
(the loader, the stop index, the features at two dates, the driving rules and vehicle leads, the
detection on unsorted fixes), which compiles every kernel with the argument types the pipeline
gives it. Anything compiled later (a kernel whose source changed, a new signature) is compiled
where it first runs, as before: precompiling only moves work, it changes no result.

``kernels()`` lists the project's compiled functions, the signatures this process holds and what
their caches did (hits: loaded from disk; misses: compiled here); the test of this module checks
that a process building features on another city holds no signature that ``warm`` did not.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PACKAGES = ("features", "models", "training", "serving", "hazleads", "simulation")


@dataclass(frozen=True)
class Kernel:
    name: str  # module.function
    hits: int  # signatures loaded from the disk cache in this process
    misses: int  # signatures compiled in this process
    signatures: tuple[str, ...]  # the argument types of each signature this process holds


def kernels() -> list[Kernel]:
    """Every Numba function of the project's modules imported so far, with its cache counts."""
    from numba.core.registry import CPUDispatcher

    found: dict[str, Kernel] = {}
    for mod_name, mod in list(sys.modules.items()):
        if mod is None or mod_name.split(".")[0] not in PACKAGES:
            continue
        for attr, obj in list(vars(mod).items()):
            if not isinstance(obj, CPUDispatcher) or obj.py_func.__module__ != mod_name:
                continue  # imported from another module: counted there
            stats = obj.stats
            found[f"{mod_name}.{attr}"] = Kernel(f"{mod_name}.{attr}", sum(stats.cache_hits.values()),
                                                 sum(stats.cache_misses.values()), tuple(sorted(map(str, obj.signatures))))
    return sorted(found.values(), key=lambda k: k.name)


def exercise(snapshot_dir: Path, say: Callable[[str], None]) -> None:
    """Run every path that calls a kernel on the snapshot in ``snapshot_dir``, as training and
    scoring call them (one process: the date workers and threads call the same signatures)."""
    import numpy as np
    import pandas as pd

    from features import load_snapshot
    from features.fix_kernels import code_presence
    from features.fix_sort import table_order
    from features.trajectories import StopIndex, detect_stops
    from training.dataset import build_dataset

    say("读取快照 loading the snapshot")
    snap = load_snapshot(snapshot_dir)
    last = snap.last_day.normalize()
    dates = [last - pd.offsets.MonthEnd(1), last]
    say("特征 features at two dates, with the driving rules")
    _, fs = build_dataset(snap, dates, digest="precompile", cache_dir=None, workers=1, latest=True)
    fs.driving.carrier  # noqa: B018  the driving kernels and the vehicle leads: computed on first use
    say("轨迹 stops in two threads, and on unsorted fixes")
    fixes = snap.trajectories
    StopIndex.build(fixes, threads=2)  # a city's fixes are scanned and gathered in threads
    for dtype in (np.int8, np.int16, np.int32):  # the loader's vehicle codes: by how many vehicles a snapshot has
        for writeable in (False, True):  # columns read from Arrow are read-only
            codes, ts = np.array([0, 0, -1], dtype=dtype), np.array([2, 1, 3], dtype=np.int64)
            codes.flags.writeable = ts.flags.writeable = writeable
            table_order(codes, ts, 1)
            code_presence(codes, 1)
    shuffled = fixes.sample(frac=1.0, random_state=0).reset_index(drop=True)
    shuffled["vehicle_id"] = shuffled["vehicle_id"].astype(str)
    StopIndex.build(shuffled)
    StopIndex.build(shuffled, threads=2)  # the cleaning passes' blocks on a sorted copy (writable columns)
    detect_stops(shuffled, 100.0, 300.0)  # without gaps: the same kernels' signatures as with them


def warm(say: Callable[[str], None] = print, scale: str = "small", months: int = 3) -> list[Kernel]:
    """Simulate a small city in a temporary folder and run ``exercise`` on it; the kernels' counts."""
    from simulation import simulate

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hazleads-precompile-") as tmp:
        say(f"模拟小城市 simulating a {months}-month {scale} city")
        folder = simulate(Path(tmp) / "city", seed=0, scale=scale, months=months)
        exercise(folder, say)
    found = kernels()
    compiled = sum(k.misses for k in found)
    loaded = sum(k.hits for k in found)
    say(f"编译完成 kernels ready: {len(found)} functions, {compiled} signatures compiled, {loaded} loaded from the cache, "
        f"{time.perf_counter() - t0:.1f} s")
    return found
