"""The soak in short (``benchmarks/soak.py`` drives the service for 10 minutes on demand; here about
half a minute): a fixed rate of lead-list reads, details, tip intake and outcomes on loopback, with
no error, every answered write stored, the audit chain whole, and the server's memory flat."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from benchmarks.soak import soak
from tests.reliability_support import ROOT

pytestmark = pytest.mark.slow
SECONDS = float(os.environ.get("HAZLEADS_SOAK_SECONDS", "25"))


def _ensure_trained(h) -> None:
    """The crash tests leave a champion in this home; alone, train one."""
    from hazleads.settings import Settings
    from tests.service_support import mlflow_env_kept
    from training import registry

    with mlflow_env_kept():
        registry.configure(Settings(home=h.home, mlflow_tracking_uri=h.env["HAZLEADS_MLFLOW_TRACKING_URI"]))
        if registry.champion_version("enterprise") is not None:
            return
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
