"""The soak in short (``benchmarks/soak.py`` drives the service for 10 minutes on demand; here about
half a minute): a fixed rate of lead-list reads, details, tip intake and outcomes on loopback, with
no error, every answered write stored, the audit chain whole, and the server's memory flat."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from benchmarks.soak import soak
from tests.reliability_fixtures import CRASH_HOME
from tests.reliability_support import ROOT

pytestmark = pytest.mark.slow
SECONDS = float(os.environ.get("HAZLEADS_SOAK_SECONDS", "25"))


def _ensure_trained(h) -> None:
    """Train a champion in this home (the crash tests train in a home of their own), from the
    crash tests' feature cache when they ran before."""
    from hazleads.settings import Settings
    from tests.service_support import mlflow_env_kept
    from training import registry

    with mlflow_env_kept():
        registry.configure(Settings(home=h.home, mlflow_tracking_uri=h.env["HAZLEADS_MLFLOW_TRACKING_URI"]))
        if registry.champion_version("enterprise") is not None:
            return
    crash_cache = h.work / CRASH_HOME / "cache"  # the same thin snapshot's features, if the crash tests ran
    if crash_cache.is_dir() and not (h.home / "cache").exists():
        shutil.copytree(crash_cache, h.home / "cache")
    env = {**os.environ, **h.env}
    env.pop("HAZLEADS_CRASH_AT", None)
    env.pop("HAZLEADS_DATABASE_URL", None)
    proc = subprocess.run([sys.executable, "-m", "tests.reliability_runner", "train", "--data", str(h.data),
                           "--experiment", str(h.exp)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_short_soak_has_no_error_and_flat_memory(reliability_home):
    h = reliability_home
    _ensure_trained(h)
    summary = soak(h.home, h.data, minutes=SECONDS / 60, rate=8, clients=8, log=h.work / "soak.log", warmup_s=5,
                   mlflow_uri=h.env["HAZLEADS_MLFLOW_TRACKING_URI"])
    assert summary["errors"] == 0, summary["error_samples"]
    assert summary["requests"] > 0 and summary["server_alive"]
    checks = summary["checks"]
    assert checks["outcomes_answered"] > 0 and checks["outcomes_missing"] == 0
    assert checks["tips_answered"] > 0 and checks["tips_checked_missing"] == 0
    assert checks["audit_chain"]["ok"], checks["audit_chain"]
    assert summary["rss_growth_mb"] < 150, summary["rss_samples"]
