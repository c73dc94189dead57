"""The web tests' service and browser: the hand-built snapshot, lists and users of the service tests
served by uvicorn on a loopback port, with an enterprise champion registered in the module's own
MLflow store (``web``, one per test module), one Chromium per module (``browser``) and a page per
test (``ui``); and the small helpers the page tests share. Registered in ``tests/conftest.py``."""

from __future__ import annotations

import httpx
import pytest

from tests.service_support import mlflow_env_kept
from tests.web_support import browsing, chromium, live_service

FOLDS = ("2021-01-31", "2021-02-28")
MODELS = {"lgbm": 0.62, "logistic": 0.48, "rules": 0.41}


def register_champion(home, mlflow_uri: str) -> str:
    """An enterprise model (a dummy: the page shows what the registry says) registered and promoted,
    with evaluation metrics per fold and model logged in its run, as the training pipeline does."""
    import mlflow
    import pandas as pd
    from sklearn.dummy import DummyClassifier

    from hazleads.settings import Settings
    from training import registry

    before = mlflow.get_tracking_uri()
    try:
        with mlflow_env_kept():
            registry.configure(Settings(home=home / "home", mlflow_tracking_uri=mlflow_uri))
            x = pd.DataFrame({"unaccounted_t_365d": [0.0, 0.5, 4.0, 9.0], "night_stops_near_water_90d": [0.0, 0.0, 1.0, 2.0]})
            model = DummyClassifier(strategy="prior").fit(x, [0, 0, 1, 1])
            with mlflow.start_run():
                mlflow.set_tags({"as_of": "2021-04-01", "snapshot_digest": "hand"})
                # the keys the training pipeline logs: entity/fold/model/metric, where the metric of
                # labelled rows has a slash of its own (five parts); overlap and rows have four
                mlflow.log_metrics({f"enterprise/{fold}/{name}/{metric}": v for i, fold in enumerate(FOLDS)
                                    for name, base in MODELS.items()
                                    for metric, v in (("labels/precision_at_20", base + i / 100), ("labels/recall_at_20", base / 2),
                                                      ("labels/ap", base - 0.1), ("overlap_at_20", 0.5), ("rows", 40.0))})
                # and the per-group tables, from the same function on a hand-made fold (two months)
                for col, table in bias_tables().items():
                    mlflow.log_text(table.to_csv(index=False), f"bias_audit_{col}.csv")
                gate = "promoted: precision@20 (labels, latest fold; ties by average precision) 0.6300 (first champion)"
                version = registry.log_model(model, "enterprise", x, tags={"model": "learned", "gate": gate})
                mlflow.set_tags({"enterprise_version": version, "enterprise_gate": "promoted (first champion)",
                                 "enterprise_model": "learned"})
            registry.promote("enterprise", version)
    finally:
        with mlflow_env_kept():  # set_tracking_uri exports the URI to the environment: later Settings would read it
            mlflow.set_tracking_uri(before)
    return version


def bias_tables():
    """``bias_audit`` per county and industry group of the hand-built enterprises over two months:
    临桂区 (E1, E5) has 4 rows, 3 investigated; its labelled precision@20 is (1/2 + 1/1) / 2 = 0.75."""
    import numpy as np
    import pandas as pd

    from training.evaluate import bias_audit

    nan = np.nan
    f = pd.DataFrame({"as_of": ["a"] * 5 + ["b"] * 5, "entity_id": ["E1", "E2", "E3", "E4", "E5"] * 2,
                      "county": ["临桂区", "七星区", "雁山区", "阳朔县", "临桂区"] * 2,
                      "industry_group": ["chemical", "other", "battery_collection", "vehicle_repair", "electroplating"] * 2,
                      "score": [0.9, 0.2, 0.3, 0.5, 0.7, 0.8, 0.1, 0.3, 0.4, 0.6],
                      "label": [1, nan, 0, 1, 0, 1, nan, nan, nan, nan]})
    return {col: bias_audit(f, col, 20) for col in ("county", "industry_group")}


@pytest.fixture(scope="module")
def web(tmp_path_factory, hand_snapshot):
    home = tmp_path_factory.mktemp("web")
    uri = f"sqlite:///{home / 'mlflow.db'}"
    import mlflow

    before = mlflow.get_tracking_uri()
    register_champion(home, uri)
    with live_service(home, hand_snapshot, mlflow_uri=uri) as (server, tokens):
        yield server, tokens
    with mlflow_env_kept():
        mlflow.set_tracking_uri(before)


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture
def ui(web, browser):
    server, _ = web
    with browsing(browser, server.url) as b:
        yield b


def api(web, who: str, path: str, **params):
    server, tokens = web
    r = httpx.get(f"{server.url}{path}", params=params, headers={"Authorization": f"Bearer {tokens[who]}"}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def visible_tabs(page) -> list[str]:
    return page.eval_on_selector_all("#tabs a[data-tab]", "els => els.filter(a => !a.hidden).map(a => a.dataset.tab)")


def ids_in_list(page) -> list[str]:
    return page.eval_on_selector_all("table.leads tbody tr", "rows => rows.map(r => r.dataset.id)")
