"""The simulator's GPS months generated in forked processes (``simulation.gps_workers``) give the
snapshot and truth of one process, byte for byte; a worker that dies fails the simulation naming
the month."""

from __future__ import annotations

import hashlib
import os
import signal
from pathlib import Path

import pytest

from simulation import gps_workers, simulate


def _digests(folder: Path) -> dict[str, str]:
    return {str(f.relative_to(folder)): hashlib.sha256(f.read_bytes()).hexdigest()
            for f in sorted(folder.rglob("*")) if f.is_file()}


def test_two_processes_write_the_one_process_snapshot_and_truth(tmp_path):
    one = simulate(tmp_path / "one", seed=3, scale="small", months=4, workers=1)
    two = simulate(tmp_path / "two", seed=3, scale="small", months=4, workers=2)
    a, b = _digests(one), _digests(two)
    assert "truth/lookalikes.csv" in a and "truth/vehicle_violations.csv" in a and len(a) >= 15
    assert [k for k in a if a[k] != b.get(k)] == [] and a.keys() == b.keys()
    # the truth recorded while generating fixes (terminal faults, restricted-zone passages) is there
    looks = (one / "truth" / "lookalikes.csv").read_text(encoding="utf-8")
    assert "gps_outage" in looks


_PLAIN = gps_workers._month


def _dies_in_month_two(m):  # handed to the workers by name, like the real one
    if m == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return _PLAIN(m)


def test_a_worker_that_dies_fails_the_simulation_naming_the_month(tmp_path, monkeypatch):
    monkeypatch.setattr(gps_workers, "_month", _dies_in_month_two)
    with pytest.raises(RuntimeError, match=r"before month [123] of 4 was written; set HAZLEADS_WORKERS=1"):
        simulate(tmp_path / "s", seed=3, scale="small", months=4, workers=2)
    assert gps_workers._GPS is None
