"""Crashes: a training run killed with SIGKILL at named moments — while MLflow migrates a new
tracking store, while caching features, while
fitting, while logging to MLflow, between registering a version and recording its checksum, just
before the champion alias moves (``hazleads train``), and in the service just after the alias moves
and inside the re-scoring transaction that follows a promotion — leaves the registry's champion
whole, the service's lead lists and database intact, and a later run succeeds. The processes are real (``tests/reliability_runner.py``
kills itself at the moment named by ``HAZLEADS_CRASH_AT``); the tests run in order on one home.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from tests.reliability_fixtures import CRASH_HOME
from tests.reliability_support import ROOT, ServiceProcess, add_users, service_env, wait_for
from tests.service_support import mlflow_env_kept

pytestmark = pytest.mark.slow
KINDS = ("enterprise", "tip")


@pytest.fixture(scope="module")
def crash(reliability_home):
    """The shared snapshot and experiment with a home of this module's own: the first test needs an
    empty registry whatever ran before (the soak trains in the shared home)."""
    home = reliability_home.work / CRASH_HOME
    return SimpleNamespace(**{**vars(reliability_home), "home": home, "env": service_env(home)})


def train(crash, moment: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, **crash.env}
    env.pop("HAZLEADS_CRASH_AT", None)
    env.pop("HAZLEADS_DATABASE_URL", None)
    if moment:
        env["HAZLEADS_CRASH_AT"] = moment
    return subprocess.run([sys.executable, "-m", "tests.reliability_runner", "train", "--data", str(crash.data),
                           "--experiment", str(crash.exp)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=900)


def assert_killed_at(proc: subprocess.CompletedProcess, moment: str) -> None:
    assert proc.returncode == -9, f"expected SIGKILL at {moment}, got {proc.returncode}:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    assert f"CRASH AT {moment}" in proc.stderr


def registry_view(crash) -> dict:
    """Champions (version and checksum tag), every version's tags, as the registry holds them now."""
    from mlflow import MlflowClient

    from hazleads.settings import Settings
    from training import registry

    with mlflow_env_kept():
        registry.configure(Settings(home=crash.home, mlflow_tracking_uri=crash.env["HAZLEADS_MLFLOW_TRACKING_URI"]))
        client = MlflowClient()
        out = {}
        for kind in KINDS:
            champ = registry.champion_version(kind)
            try:
                versions = {str(v.version): dict(v.tags) for v in client.search_model_versions(f"name='{registry.NAMES[kind]}'")}
            except Exception:  # noqa: BLE001 - no registry yet
                versions = {}
            out[kind] = {"champion": champ, "versions": versions}
        return out


def assert_champion_whole(crash, kind: str) -> str:
    """The champion loads from the registry and its checksum holds; its version."""
    from hazleads.settings import Settings
    from training import registry

    with mlflow_env_kept():
        registry.configure(Settings(home=crash.home, mlflow_tracking_uri=crash.env["HAZLEADS_MLFLOW_TRACKING_URI"]))
        loaded = registry.load_version(kind, alias=registry.CHAMPION)  # fresh download, checksum verified
    assert hasattr(loaded.model, "predict_proba")
    return loaded.version


def state(crash) -> str | None:
    p = crash.home / "state.json"
    return p.read_text(encoding="utf-8") if p.exists() else None


# ---- the command line's training ----------------------------------------------------------------------


def test_killed_while_the_new_store_is_migrated_a_later_run_succeeds(crash):
    """Killed while MLflow migrates the new tracking store (a first training opens it while the
    features are built): no store is left half-migrated. One was, and every later run failed on it."""
    proc = train(crash, "store-migration")
    assert_killed_at(proc, "store-migration")
    assert not (crash.home / "mlflow.db").exists()
    assert list(crash.home.glob(".mlflow.db.*.new")), "the kill came while the store was being made"
    assert all(v["champion"] is None for v in registry_view(crash).values())  # opens it: made whole now
    assert not list(crash.home.glob(".mlflow.db.*.new"))


def test_killed_while_caching_features_a_later_run_succeeds(crash):
    """Killed while writing the feature cache of a cold home: nothing registered, no state recorded;
    the next run must not trip over the half-written cache (it did: a missing tip table)."""
    proc = train(crash, "features-cache")
    assert_killed_at(proc, "features-cache")
    assert state(crash) is None
    assert all(v["champion"] is None for v in registry_view(crash).values())
    assert list((crash.home / "cache").rglob("*parquet*")), "the kill came while the cache was being written"
    proc = train(crash)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    view = registry_view(crash)
    assert view["enterprise"]["champion"] == "1" and view["tip"]["champion"] == "1"
    assert json.loads(state(crash))["last_trained_snapshot"] == str(crash.data.resolve())


@pytest.mark.parametrize("moment", ["fitting", "logging", "registration", "promotion-before"])
def test_training_killed_before_promotion_leaves_the_champion(crash, moment):
    before, state_before = registry_view(crash), state(crash)
    assert before["enterprise"]["champion"] is not None, "needs the champion of the test above"
    if moment == "fitting":  # the folds the runs above kept would not be fitted again (training.fold_cache)
        for kept in (crash.home / "cache").glob("*/*/folds"):
            shutil.rmtree(kept)
    proc = train(crash, moment)
    assert_killed_at(proc, moment)
    after = registry_view(crash)
    for kind in KINDS:
        assert after[kind]["champion"] == before[kind]["champion"]
        champ = after[kind]["champion"]
        assert after[kind]["versions"][champ] == before[kind]["versions"][champ], "the champion's tags changed"
        assert assert_champion_whole(crash, kind) == champ
    assert state(crash) == state_before
    new = set(after["enterprise"]["versions"]) - set(before["enterprise"]["versions"])
    if moment == "registration":
        # registered, killed before its checksum was recorded: it can never be loaded, promoted or served
        from hazleads.settings import Settings
        from training import registry

        (version,) = new
        assert "sha256" not in after["enterprise"]["versions"][version]
        with mlflow_env_kept():
            registry.configure(Settings(home=crash.home, mlflow_tracking_uri=crash.env["HAZLEADS_MLFLOW_TRACKING_URI"]))
            with pytest.raises(registry.ModelLoadError, match="no checksum"):
                registry.promote("enterprise", version)
            assert registry.champion_version("enterprise") == before["enterprise"]["champion"]
    elif moment == "promotion-before":
        (version,) = new
        assert after["enterprise"]["versions"][version]["sha256"]  # whole, checked, just not promoted
    else:
        assert not new


# ---- the service's own training -------------------------------------------------------------------------


def _db_facts(db: Path) -> dict:
    """Integrity, and every stored list's rows, as the service's SQLite file holds them."""
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        runs = conn.execute("SELECT id, n_enterprise, n_tip, n_site, enterprise_version FROM scoring_runs ORDER BY id").fetchall()
        leads = {}
        for run_id, *counts, _ in runs:
            got = [conn.execute("SELECT count(*) FROM leads WHERE run_id = ? AND kind = ?", (run_id, k)).fetchone()[0]
                   for k in ("enterprise", "tip", "site")]
            assert got == counts, f"run {run_id} is partial: {got} rows stored, {counts} declared"
            rows = conn.execute("SELECT kind, entity_id, rank, score, reasons FROM leads WHERE run_id = ? ORDER BY id",
                                (run_id,)).fetchall()
            leads[run_id] = hashlib.sha256(repr(rows).encode()).hexdigest()
        jobs = conn.execute("SELECT id, kind, status, error FROM jobs ORDER BY id").fetchall()
        return {"runs": runs, "leads": leads, "jobs": jobs}
    finally:
        conn.close()


def _audit_ok(db_url: str, home) -> bool:
    from tests.reliability_support import audit_verdict

    return audit_verdict(db_url, home).ok


def _start(crash, log: str, moment: str | None = None) -> ServiceProcess:
    svc = ServiceProcess(crash.env, crash.data, crash.work / log, crash_at=moment, experiment=crash.exp)
    svc.wait_up()
    return svc


def _train_via_api(svc: ServiceProcess, admin: dict) -> int:
    r = httpx.post(f"{svc.url}/v1/training", json={}, headers=admin, timeout=30)
    assert r.status_code == 202, r.text
    return r.json()["id"]


def _died(svc: ServiceProcess, moment: str, timeout_s: float = 600) -> None:
    wait_for(lambda: svc.proc.poll() is not None, timeout_s, f"the service to die at {moment}", 0.2)
    assert svc.proc.returncode == -9, (svc.proc.returncode, svc.tail())
    assert f"CRASH AT {moment}" in svc.tail(200)


def test_service_killed_during_training_and_rescoring_keeps_lists_and_database(crash):
    db = crash.home / "hazleads.db"
    db_url = f"sqlite:///{db}"
    h = add_users(db_url, {"adm": ("admin", None), "inv": ("investigator", None)})
    admin, inv = h["adm"], h["inv"]

    # 1. the service scores its lists at start; then its training dies just after moving the champion alias
    svc = _start(crash, "svc-1.log", "promotion-after")
    assert svc.wait_ready(inv)["ready"], svc.tail()
    served = httpx.get(f"{svc.url}/v1/leads/enterprises", params={"limit": 200}, headers=inv, timeout=30).json()
    base, registry_before = _db_facts(db), registry_view(crash)
    assert base["runs"] and served["total"] > 0
    killed_job = _train_via_api(svc, admin)
    _died(svc, "promotion-after")
    facts = _db_facts(db)
    assert {k: facts["leads"][k] for k in base["leads"]} == base["leads"], "stored lists changed"
    assert _audit_ok(db_url, crash.home)
    # the registry: the new champion (the first alias to move) is whole, and the way back was recorded
    after = registry_view(crash)
    old, champion = registry_before["enterprise"]["champion"], after["enterprise"]["champion"]
    assert champion != old and assert_champion_whole(crash, "enterprise") == champion
    assert after["enterprise"]["versions"][champion]["previous_champion"] == old, "recorded before the alias moved"
    assert after["tip"]["champion"] == registry_before["tip"]["champion"]

    # 2. restarted: the dead run's job is closed, the new champion is served and scored at start, the
    #    old lists are still there; its own training dies inside the re-scoring transaction
    svc = _start(crash, "svc-2.log", "rescoring")
    ready = svc.wait_ready(inv)
    assert ready["ready"] and ready["models"]["enterprise"] == champion, ready
    job = httpx.get(f"{svc.url}/v1/training/{killed_job}", headers=admin, timeout=30).json()
    assert job["status"] == "failed" and "interrupted" in job["error"]
    page = httpx.get(f"{svc.url}/v1/leads/enterprises", params={"limit": 200}, headers=inv, timeout=30).json()
    assert page["run"]["model_version"] == champion and page["total"] == served["total"]
    before_rescoring = _db_facts(db)
    _train_via_api(svc, admin)
    _died(svc, "rescoring")
    facts = _db_facts(db)  # asserts every stored run is whole
    assert facts["runs"] == before_rescoring["runs"], "the killed re-scoring left a run behind"
    assert facts["leads"] == before_rescoring["leads"]
    assert _audit_ok(db_url, crash.home)

    # 3. restarted without faults: it serves, and a training run through the API succeeds
    svc = _start(crash, "svc-3.log")
    try:
        assert svc.wait_ready(inv)["ready"], svc.tail()
        job_id = _train_via_api(svc, admin)
        job = wait_for(lambda: (j := httpx.get(f"{svc.url}/v1/training/{job_id}", headers=admin, timeout=30).json())["status"]
                       != "running" and j, 600, "the training run")
        assert job["status"] == "succeeded", job
        assert httpx.get(f"{svc.url}/v1/leads/enterprises", headers=inv, timeout=30).status_code == 200
    finally:
        svc.stop()
    facts = _db_facts(db)
    assert {k: facts["leads"][k] for k in base["leads"]} == base["leads"]
    assert _audit_ok(db_url, crash.home)
