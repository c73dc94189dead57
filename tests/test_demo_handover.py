"""``hazleads demo`` hands the snapshot its training loaded (with the stops it detected and the
features it built at the last day) to the service it then starts, instead of loading the folder,
detecting the stops and building those features again. The service must answer exactly as one
that loads the folder itself: every list and every detail page."""

from __future__ import annotations

import time

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from hazleads.settings import Settings
from serving.app import create_app
from serving.auth import create_user
from tests.service_support import drop_keys, mlflow_env_kept

pytestmark = pytest.mark.slow
FAST = {"name": "handover", "enterprise_models": ["lgbm", "rules"], "tip_models": ["lgbm", "channel"],
        "lgbm": {"n_estimators": 20}, "splits": {"n_folds": 1, "test_days": 60, "step_days": 60, "calib_days": 30,
                                                 "label_days": 90, "min_label_days": 30, "min_history_days": 60}}
VOLATILE = {"created_at", "started_at", "finished_at", "scored_at", "run_id", "id", "request_id", "generated_at"}


@pytest.fixture(scope="module")
def trained(tmp_path_factory, small_snapshot):
    """A home trained from cold (features built, not cached) keeping what it loaded."""
    from training.config import TrainConfig
    from training.pipeline import run_training

    home = tmp_path_factory.mktemp("handover")
    settings = Settings(home=home, mlflow_tracking_uri=f"sqlite:///{home / 'mlflow.db'}")
    with mlflow_env_kept():
        # two feature processes, as in the demo (a test worker would otherwise build in one)
        result = run_training(small_snapshot, settings, config=TrainConfig.model_validate(FAST), keep_loaded=True,
                              feature_workers=2)
    return home, result


def _strip(value):
    return drop_keys(value, VOLATILE)


def _answers(settings: Settings, data, loaded) -> tuple[dict, object]:
    """Every list and the detail page of each list's first entries, from a service started on
    ``data`` (handed ``loaded``, or reading the folder itself)."""
    app = create_app(settings, data=data, warm="sync", history_months=0, watch_interval_s=0, loaded=loaded)
    with mlflow_env_kept(), TestClient(app, raise_server_exceptions=False) as client:
        rt = app.state.runtime
        with rt.db.write() as s:
            _, token = create_user(s, f"admin-{time.monotonic_ns()}", "admin", None)
        h = {"Authorization": f"Bearer {token}"}
        assert client.get("/readyz", headers=h).status_code == 200
        out = {}
        for listed, key, detail in (("leads/enterprises", "enterprise_id", "enterprises"), ("leads/sites", "site_id", "sites"),
                                    ("leads/tips", "tip_id", "tips"), ("vehicles", "vehicle_id", "vehicles")):
            r = client.get(f"/v1/{listed}", params={"limit": 50}, headers=h)
            assert r.status_code == 200, r.text
            items = r.json()["items"]
            out[listed] = _strip(r.json())
            for item in items[:3]:
                d = client.get(f"/v1/{detail}/{item[key]}", headers=h)
                assert d.status_code == 200, d.text
                out[f"{detail}/{item[key]}"] = _strip(d.json())
        out["places"] = client.get("/v1/places", headers=h).json()
        out["mismatch"] = _strip(client.get("/v1/ledger-mismatch", params={"limit": 50}, headers=h).json())
        return out, rt


def test_the_service_handed_the_training_snapshot_answers_as_one_that_loads_it(trained, small_snapshot):
    home, result = trained
    loaded = result.loaded
    assert loaded is not None and loaded.path == small_snapshot.resolve() and loaded.stop_index is not None
    assert loaded.features is not None and loaded.features.as_of == loaded.snapshot.last_day

    def settings(db: str) -> Settings:
        return Settings(home=home, database_url=f"sqlite:///{home / db}", mlflow_tracking_uri=f"sqlite:///{home / 'mlflow.db'}")

    handed, rt = _answers(settings("handed.db"), small_snapshot, loaded)
    assert rt.snapshot is loaded.snapshot, "the snapshot was read again"
    assert rt._stop_index is loaded.stop_index, "the stops were detected again"
    assert rt.features is loaded.features, "the features at the last day were built again"
    fresh, rt2 = _answers(settings("fresh.db"), small_snapshot, None)
    assert rt2.snapshot is not loaded.snapshot
    assert sum(k.startswith(("enterprises/", "sites/", "tips/", "vehicles/")) for k in fresh) >= 9
    assert handed.keys() == fresh.keys()
    for key in fresh:
        assert handed[key] == fresh[key], f"{key}: the handed-over snapshot answers differently"


def test_a_snapshot_handed_for_another_folder_is_not_served(trained, small_snapshot, tmp_path):
    import dataclasses
    import shutil

    home, result = trained
    other = tmp_path / "other"
    shutil.copytree(small_snapshot, other)
    wrong = dataclasses.replace(result.loaded, path=small_snapshot.resolve().parent / "elsewhere")
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'other.db'}", mlflow_tracking_uri=f"sqlite:///{home / 'mlflow.db'}")
    app = create_app(settings, data=other, warm="off", loaded=wrong)
    with mlflow_env_kept(), TestClient(app):
        rt = app.state.runtime
        assert rt.load_snapshot()
        assert rt.snapshot is not result.loaded.snapshot and rt.snapshot_path == other.resolve()


def test_the_handed_features_serve_their_own_day_only(trained, small_snapshot):
    home, result = trained
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'days.db'}", mlflow_tracking_uri=f"sqlite:///{home / 'mlflow.db'}")
    app = create_app(settings, data=small_snapshot, warm="off", loaded=result.loaded)
    with mlflow_env_kept(), TestClient(app):
        rt = app.state.runtime
        assert rt.load_snapshot() and rt.snapshot is result.loaded.snapshot
        earlier = result.loaded.features.as_of - pd.Timedelta(days=40)
        fs = rt.build_features(earlier)
        assert fs.as_of == earlier and fs is not result.loaded.features
