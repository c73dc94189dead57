"""``hazleads precompile`` (``make install`` runs it): after it, a new process that builds features,
detects stops and ranks vehicles on another city compiles no Numba kernel; it loads them all.

Both processes use one empty ``NUMBA_CACHE_DIR``, so the first must compile every kernel (about
40 CPU-seconds) and the second can only find what the first compiled.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

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


def _run(args: list[str], cache: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    env.pop("PYTEST_XDIST_WORKER", None)  # the run as a user's: the scan in threads
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)


def test_after_precompile_a_new_process_compiles_nothing(small_snapshot, tmp_path):
    cache = tmp_path / "numba"
    warm = _run(["-m", "hazleads.cli.main", "precompile"], cache)
    assert warm.returncode == 0, warm.stderr[-3000:]
    assert "kernels ready" in warm.stdout
    assert any(cache.rglob("*.nbc")), "precompile wrote no compiled kernel to NUMBA_CACHE_DIR"

    use = _run(["-c", USE, str(small_snapshot)], cache)
    assert use.returncode == 0, use.stderr[-3000:]
    found = {k["name"]: k for k in json.loads(use.stdout.strip().splitlines()[-1])}
    compiled = {name: k["misses"] for name, k in found.items() if k["misses"]}
    assert not compiled, f"compiled after precompile (a path hazleads/precompile.py does not run): {compiled}"
    # the kernels a training and a scoring run call were all loaded, not skipped
    for name in ("features.fix_sort._scatter_table", "features.fix_sort._order_table_slots", "features.fix_sort._sort_groups",
                 "features.fix_kernels._breaks", "features.fix_kernels.gather_into", "features.stops_scan.scan_stops",
                 "features.stops_kernel.stop_medians", "features.stops_asof._count_before", "features.trips._trip_kernel",
                 "features.driving_kernel.steps", "features.driving_kernel.drive_spells", "features.grouped._worst"):
        assert found[name]["hits"] >= 1, f"{name} did not run: {found.get(name)}"
