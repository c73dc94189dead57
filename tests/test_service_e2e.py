"""The service end to end on a simulated small city trained once: the scoring job at start (lists
and score history), tip intake scored at once, an outcome that survives a restart and reaches the
next training run's labels, one training at a time, promotion hot-swapped without a restart, and a
champion that fails to load leaving the old one serving."""

from __future__ import annotations

import shutil
import time

import pytest
from fastapi.testclient import TestClient

from hazleads.settings import Settings
from serving.app import create_app
from serving.auth import create_user
from tests.service_support import mlflow_env_kept

pytestmark = pytest.mark.slow
FAST = {"name": "service-e2e", "enterprise_models": ["lgbm", "rules"], "tip_models": ["lgbm", "channel"],
        "lgbm": {"n_estimators": 40}, "splits": {"n_folds": 1, "test_days": 60, "step_days": 60, "calib_days": 30,
                                                 "label_days": 90, "min_label_days": 30, "min_history_days": 60}}


def fast_config():
    from training.config import TrainConfig

    return TrainConfig.model_validate(FAST)


@pytest.fixture(scope="session")
def service_home(tmp_path_factory, small_snapshot, trained_home):
    """A home folder with champions trained once (fast configuration) on the small snapshot; its
    feature cache starts as a copy of ``trained_home``'s (the same snapshot's features at the same
    month ends), so the training here fits and registers without building them again."""
    from training.pipeline import run_training

    home = tmp_path_factory.mktemp("service-home")
    shutil.copytree(trained_home[0] / "cache", home / "cache")
    settings = Settings(home=home, mlflow_tracking_uri=f"sqlite:///{home / 'mlflow.db'}")
    with mlflow_env_kept():
        result = run_training(small_snapshot, settings, config=fast_config())
    assert [d.promoted for d in result.decisions] == [True, True]
    return home, result


def _settings(service_home, db: str) -> Settings:
    home = service_home[0]
    return Settings(home=home, database_url=f"sqlite:///{home / db}", mlflow_tracking_uri=f"sqlite:///{home / 'mlflow.db'}")


class Live:
    def __init__(self, settings: Settings, data, **kw) -> None:
        self.app = create_app(settings, data=data, warm="sync", train_config=fast_config(), history_months=2,
                              watch_interval_s=0, **kw)
        self._env = mlflow_env_kept()

    def __enter__(self):
        self._env.__enter__()
        self.client = TestClient(self.app, raise_server_exceptions=False).__enter__()
        return self

    def __exit__(self, *exc) -> None:
        rt = self.app.state.runtime
        for lock in (rt.training_lock, rt.scoring_lock):
            if lock.acquire(timeout=120):
                lock.release()
        self.client.__exit__(*exc)
        self._env.__exit__(*exc)

    def user(self, role: str, county: str | None = None) -> dict[str, str]:
        with self.app.state.runtime.db.write() as s:
            u, token = create_user(s, f"{role}-{county or 'city'}-{time.monotonic_ns()}", role, county)
        return {"Authorization": f"Bearer {token}"}

    def wait_job(self, kind: str, job_id: int, h: dict, timeout_s: float = 180) -> dict:
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            job = self.client.get(f"/v1/{kind}/{job_id}", headers=h).json()
            if job["status"] != "running":
                return job
            time.sleep(0.5)
        raise AssertionError(f"{kind} job {job_id} still running after {timeout_s} s")


def test_start_scores_lists_history_and_serves_evidence_and_intake(service_home, small_snapshot):
    _, trained = service_home
    with Live(_settings(service_home, "e2e.db"), small_snapshot) as live:
        inv = live.user("investigator")
        ready = live.client.get("/readyz", headers=inv)
        assert ready.status_code == 200 and ready.json()["ready"], ready.text
        champion = trained.decisions[0].version
        runs = live.client.get("/v1/runs", headers=inv).json()
        assert len(runs["as_of_dates"]) == 3 and runs["as_of_dates"][-1] == str(trained.as_of.date())
        assert {r["model_version"] for r in runs["items"]} == {champion}
        page = live.client.get("/v1/leads/enterprises", params={"limit": 200}, headers=inv).json()
        assert page["total"] > 50 and page["run"]["model_version"] == champion
        assert [i["rank"] for i in page["items"]] == list(range(1, len(page["items"]) + 1))
        assert all(i["reasons"] for i in page["items"])
        top = page["items"][0]["enterprise_id"]
        detail = live.client.get(f"/v1/enterprises/{top}", headers=inv).json()
        assert len(detail["history"]) == 3 and detail["ledger"] and detail["map"]["features"]
        sites = live.client.get("/v1/leads/sites", headers=inv).json()["items"]
        assert sites and live.client.get(f"/v1/sites/{sites[0]['site_id']}", headers=inv).json()["stops"]
        # a county investigator's list is the county's part of the same list
        county = page["items"][0]["county"]
        mine = live.client.get("/v1/leads/enterprises", params={"limit": 200}, headers=live.user("investigator", county)).json()
        assert [i["enterprise_id"] for i in mine["items"]] == [i["enterprise_id"] for i in page["items"] if i["county"] == county]
        # tip intake: stored and scored with the champion tip model at once
        stop = live.app.state.runtime.features.stops
        offsite = stop[~stop["registered"].astype(bool)].iloc[0]
        body = {"channel": "12369", "text": "半夜有货车在河边停了很久，还有刺鼻气味", "lat": float(offsite["lat"]),
                "lon": float(offsite["lon"]), "received_at": (offsite["end"] + __import__("pandas").Timedelta(hours=2)).isoformat()}
        r = live.client.post("/v1/tips", json=body, headers=inv)
        assert r.status_code == 201, r.text
        tip = r.json()
        assert tip["score"] is not None and 0 <= tip["score"] <= 1 and tip["model_version"] == trained.decisions[1].version
        assert tip["corroboration"]["stops_nearby"] and offsite["vehicle_id"] in tip["vehicle_ids"]
        assert tip["scored_in_ms"] > 0  # reported with the score (measured in benchmarks/bench_service.py)
        assert live.client.get(f"/v1/tips/{tip['tip_id']}", headers=inv).json()["score"] == tip["score"]


def test_outcome_survives_restart_feeds_retraining_and_champions_swap_without_restart(service_home, small_snapshot):
    from mlflow import MlflowClient

    from training import registry

    home, trained = service_home
    settings = _settings(service_home, "e2e.db")  # lists stored by the test above are reused
    with Live(settings, small_snapshot) as live:
        inv = live.user("investigator")
        admin_token = live.user("admin")
        eid = live.client.get("/v1/leads/enterprises", headers=inv).json()["items"][0]["enterprise_id"]
        r = live.client.post("/v1/outcomes", headers=inv, json={
            "entity_kind": "enterprise", "entity_id": eid, "outcome": "confirmed", "violation": "dumping_3t",
            "tonnes": 6.0, "opened": str((trained.as_of - __import__("pandas").Timedelta(days=20)).date())})
        assert r.status_code == 201
        case_id = r.json()["case_id"]
    with Live(settings, small_snapshot) as live:  # a new process on the same database
        admin = admin_token
        rt = live.app.state.runtime
        assert rt.versions()["enterprise"] == trained.decisions[0].version
        first = live.client.post("/v1/training", json={}, headers=admin)
        assert first.status_code == 202, first.text
        second = live.client.post("/v1/training", json={}, headers=admin)
        assert second.status_code == 409 and "already running" in second.json()["detail"]
        job = live.wait_job("training", first.json()["id"], admin)
        assert job["status"] == "succeeded", job
        assert job["result"]["recorded_outcomes"] == 1 and job["result"]["recorded_case_ids"] == [case_id]
        registry.configure(settings)
        new = str(max(int(d["version"]) for d in job["result"]["decisions"] if d["kind"] == "enterprise"))
        if not job["promoted"]:  # the gate kept the champion: promote by hand, through the API
            assert live.client.post("/v1/models/enterprise/promote", json={"version": new}, headers=admin).status_code == 200
        assert rt.versions()["enterprise"] == new  # hot-swapped, no restart
        deadline = time.monotonic() + 120
        while not any(x["model_version"] == new for x in live.client.get("/v1/runs", headers=admin).json()["items"]):
            assert time.monotonic() < deadline, "no lead list re-scored with the new champion"
            time.sleep(0.5)
        # a champion that fails its checksum is never served: the current one stays
        old = trained.decisions[0].version
        cached = settings.models_dir / registry.NAMES["enterprise"] / old / registry.PICKLE
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.write_bytes(b"not a model")
        MlflowClient().set_registered_model_alias(registry.NAMES["enterprise"], registry.CHAMPION, old)
        info = live.client.post("/v1/models/reload", headers=admin).json()
        ent = next(m for m in info["models"] if m["kind"] == "enterprise")
        assert ent["champion"] == old and ent["serving"] == new and "checksum" in ent["load_error"]
        assert rt.versions()["enterprise"] == new
        assert live.client.get("/v1/leads/enterprises", headers=inv).status_code == 200
        metrics = live.client.get("/metrics", headers=admin).text
        assert 'hazleads_model_load_failures_total{kind="enterprise"} 1.0' in metrics
        assert f'hazleads_model_version{{kind="enterprise"}} {float(new)}' in metrics
        assert "hazleads_scoring_job_seconds_count" in metrics and "hazleads_request_seconds_bucket" in metrics
