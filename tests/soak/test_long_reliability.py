"""On demand (see ``conftest.py``): the soak for ``HAZLEADS_SOAK_MINUTES`` (default 10) on a freshly
simulated and trained small city, and ``hazleads train`` killed at random moments
(``HAZLEADS_SOAK_KILLS`` times, default 20) — the long forms of ``test_reliability_soak.py`` and
``test_reliability_crash.py``."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest

from benchmarks.soak import prepare, soak
from tests.reliability_support import ROOT
from tests.service_support import mlflow_env_kept

pytestmark = pytest.mark.soak
MINUTES = float(os.environ.get("HAZLEADS_SOAK_MINUTES", "10"))
KILLS = int(os.environ.get("HAZLEADS_SOAK_KILLS", "20"))


def test_long_soak(tmp_path):
    home, data = prepare(tmp_path)
    summary = soak(home, data, minutes=MINUTES, rate=10, clients=16, log=tmp_path / "soak.log")
    assert summary["errors"] == 0, summary["error_samples"]
    assert summary["checks"]["outcomes_missing"] == 0 and summary["checks"]["audit_chain"]["ok"]
    assert summary["rss_slope_second_half_mb_per_min"] < 2.0, summary["rss_samples"]


def _train(h, env_extra=None) -> subprocess.Popen:
    env = {**os.environ, **h.env, **(env_extra or {})}
    env.pop("HAZLEADS_DATABASE_URL", None)
    env.pop("HAZLEADS_CRASH_AT", None)
    return subprocess.Popen([sys.executable, "-m", "tests.reliability_runner", "train", "--data", str(h.data),
                             "--experiment", str(h.exp)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def _champion_whole(h) -> dict:
    from hazleads.settings import Settings
    from training import registry

    with mlflow_env_kept():
        registry.configure(Settings(home=h.home, mlflow_tracking_uri=h.env["HAZLEADS_MLFLOW_TRACKING_URI"]))
        out = {}
        for kind in ("enterprise", "tip"):
            if registry.champion_version(kind) is not None:
                out[kind] = registry.load_version(kind, alias=registry.CHAMPION).version  # raises if not whole
        return out


def test_training_killed_at_random_moments(reliability_home):
    h = reliability_home
    t0 = time.monotonic()
    assert _train(h).wait(timeout=1800) == 0
    full = time.monotonic() - t0
    rng = random.Random(int(os.environ.get("HAZLEADS_SOAK_SEED", "0")))
    for _ in range(KILLS):
        before = _champion_whole(h)
        proc = _train(h)
        time.sleep(rng.uniform(0.5, full))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        after = _champion_whole(h)  # whole, whichever version it is
        assert set(after) == set(before)
    assert _train(h).wait(timeout=1800) == 0, "a run after all the kills succeeds"
