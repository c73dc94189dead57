"""``hazleads precompile`` (``make install`` runs it) compiles every kernel a run needs: a process
that builds features, detects stops and ranks vehicles on another city holds no Numba signature
that the precompile did not compile or load, so it finds them all in the cache and compiles
nothing.

Both processes use the project's own cache (what ``make install`` filled): each loads its kernels
in seconds. A signature the precompile does not reach (a path ``precompile.exercise`` does not
run, an argument of another type) is named.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

WARM = """
import json
from hazleads.precompile import kernels, warm
warm(lambda _m: None)
print(json.dumps([k.__dict__ for k in kernels()]))
"""

# a city the precompile did not see: another seed, twelve months, three as-of dates; the paths of a
# training (features at many dates, threads when the fixes are many) and of scoring (driving rules)
USE = """
import json, sys
import pandas as pd
from features import load_snapshot
from features.trajectories import StopIndex, clean_fixes, detect_stops
from hazleads.precompile import kernels
from training.dataset import build_dataset

snap = load_snapshot(sys.argv[1])
last = snap.last_day.normalize()
dates = [last - pd.offsets.MonthEnd(k) for k in (4, 2, 0)]
_, fs = build_dataset(snap, dates, digest="use", cache_dir=None, workers=1, latest=True)
fs.driving.carrier
StopIndex.build(snap.trajectories, threads=2)
shuffled = snap.trajectories.sample(frac=1.0, random_state=1)
detect_stops(clean_fixes(shuffled)[0], 100.0, 300.0)
print(json.dumps([k.__dict__ for k in kernels()]))
"""


def _kernels(args: list[str]) -> dict[str, dict]:
    env = dict(os.environ)
    env.pop("PYTEST_XDIST_WORKER", None)  # the run as a user's: the scan in threads
    out = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    return {k["name"]: k for k in json.loads(out.stdout.strip().splitlines()[-1])}


def test_a_run_on_another_city_needs_no_kernel_the_precompile_did_not_make(small_snapshot):
    warm = _kernels(["-c", WARM])
    use = _kernels(["-c", USE, str(small_snapshot)])
    missing = {name: sorted(set(k["signatures"]) - set(warm.get(name, {}).get("signatures", ())))
               for name, k in use.items()}
    missing = {name: sigs for name, sigs in missing.items() if sigs}
    assert not missing, f"signatures a run needs that hazleads/precompile.py does not make: {missing}"
    compiled = {name: k["misses"] for name, k in use.items() if k["misses"]}
    assert not compiled, f"compiled after the precompile: {compiled}"
    # the kernels a training and a scoring run call were all run, not skipped
    for name in ("features.fix_sort._scatter_table", "features.fix_sort._order_table_slots", "features.fix_sort._sort_groups",
                 "features.fix_kernels._breaks", "features.fix_kernels.gather_into", "features.fix_kernels.code_presence",
                 "features.stops_scan.scan_stops", "features.stops_kernel.stop_medians", "features.stops_asof._count_before",
                 "features.trips._trip_kernel", "features.driving_kernel.steps", "features.driving_kernel.drive_spells",
                 "features.grouped._worst"):
        assert use[name]["signatures"], f"{name} did not run: {use.get(name)}"
