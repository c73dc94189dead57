"""A training run end to end on a simulated snapshot: metrics, registry, gate, rollback, scoring."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from features import load_snapshot
from features.build import build
from features.snapshot import snapshot_digest
from training import registry
from training.score import CONTRACT_COLUMNS, score_snapshot, score_tip

pytestmark = pytest.mark.slow


@pytest.fixture()
def mlflow_at(trained_home):
    home, settings, result = trained_home
    registry.configure(settings)
    return settings, result


@pytest.fixture(scope="module")
def at_as_of(small_snapshot, trained_home):
    """The small snapshot loaded once and its features at the training's as-of date, for the tests
    that only read them."""
    snap = load_snapshot(small_snapshot)
    return snap, build(snap, trained_home[2].as_of)


def test_run_records_every_model_and_promotes_first_champion(mlflow_at):
    settings, result = mlflow_at
    m = result.metrics
    assert {"lgbm", "logistic", "rules", "anomaly", "random"} <= set(m[m.entity == "enterprise"]["model"])
    assert {"lgbm", "channel", "random"} <= set(m[m.entity == "tip"]["model"])
    assert {"labels/precision@20", "truth/precision@20", "truth/recall@20", "labels/ap", "truth/ndcg@20"} <= set(m["metric"])
    assert [d.promoted for d in result.decisions] == [True, True]
    assert registry.champion_version("enterprise") == result.decisions[0].version
    # each version carries what it was chosen on: the learned recipe and the rules on the latest fold
    for kind in ("enterprise", "tip"):
        tags = registry.load_version(kind, alias=registry.CHAMPION).tags
        assert tags["model"] in ("learned", "rules") and tags["choice"]
        assert {"fold_ap_lgbm", "fold_ap_rules" if kind == "tip" else "fold_ap_rules_graded"} <= set(tags)
        assert (float(tags["fold_ap_lgbm"]) > float(tags.get("fold_ap_rules_graded", tags.get("fold_ap_rules")))) == (tags["model"] == "learned")
    from mlflow import MlflowClient

    run_metrics = MlflowClient().get_run(result.run_id).data.metrics
    assert any(k.startswith("enterprise/gate/") for k in run_metrics) and any(k.startswith("tip/gate/") for k in run_metrics)


def test_registered_model_loads_back_and_reproduces_scores(mlflow_at, at_as_of):
    settings, result = mlflow_at
    loaded = registry.load_version("enterprise", alias=registry.CHAMPION, cache=settings.models_dir)
    _, fs = at_as_of
    a = loaded.model.predict_proba(fs.enterprise)[:, 1]
    again = registry.load_version("enterprise", alias=registry.CHAMPION)  # fresh download, no cache
    b = again.model.predict_proba(fs.enterprise)[:, 1]
    np.testing.assert_allclose(a, b)
    assert ((a >= 0) & (a <= 1)).all()


def test_gate_refuses_a_worse_model_and_keeps_the_champion(small_snapshot, tmp_path):
    import mlflow

    from hazleads.settings import Settings
    from models.fallback import RuleLeadModel

    registry.configure(Settings(home=tmp_path / "home"))  # a registry of its own
    rows = build(load_snapshot(small_snapshot), "2021-11-30").enterprise.reset_index()
    good = RuleLeadModel().fit(rows)
    p = good.predict_proba(rows)[:, 1]
    assert np.unique(p).size > 10, "the rule model must order the enterprises"
    order = np.argsort(-p, kind="stable")
    label = np.zeros(len(rows))
    label[order[:10]] = 1.0  # the champion's own top ten are the positives: it is perfect at 10
    rows = rows.assign(label=label, as_of=pd.Timestamp("2021-11-30"))

    def metric(scores):
        return float(np.mean(rows["label"].to_numpy()[np.argsort(-scores, kind="stable")[:10]]))

    class Reversed(RuleLeadModel):
        def predict_proba(self, X):
            return super().predict_proba(X)[:, ::-1]

    worse = Reversed().fit(rows)
    with mlflow.start_run():
        first = registry.log_model(good, "enterprise", rows)
        assert registry.gate("enterprise", first, p, rows, metric, "precision@10").promoted
        version = registry.log_model(worse, "enterprise", rows)
        decision = registry.gate("enterprise", version, worse.predict_proba(rows)[:, 1], rows, metric, "precision@10")
    assert decision.new_metric < decision.champion_metric == 1.0
    assert not decision.promoted and "below the champion" in decision.reason
    assert registry.champion_version("enterprise") == first


def test_corrupted_version_is_never_promoted_or_served(mlflow_at, at_as_of):
    settings, result = mlflow_at
    champion = registry.champion_version("enterprise")
    good = registry.load_version("enterprise", alias=registry.CHAMPION).model
    rows = at_as_of[1].enterprise
    import mlflow

    with mlflow.start_run():
        version = registry.log_model(good, "enterprise", rows)
    # corrupt the stored pickle behind the registry's back
    src = mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{registry.NAMES['enterprise']}/{version}")
    stored = mlflow.MlflowClient().get_model_version(registry.NAMES["enterprise"], version).source
    model_dir = next(p for p in (settings.mlflow_artifacts).rglob("model.pkl") if stored.split("/")[-1] in str(p))
    model_dir.write_bytes(b"not a pickle")
    with pytest.raises(registry.ModelLoadError, match="checksum"):
        registry.load_version("enterprise", version=version)
    decision = registry.gate("enterprise", version, good.predict_proba(rows)[:, 1], rows, lambda s: 1.0, "m")
    assert not decision.promoted and "does not load back" in decision.reason
    assert registry.champion_version("enterprise") == champion
    with pytest.raises(registry.ModelLoadError):
        registry.promote("enterprise", version)
    assert src


def test_promote_and_rollback(mlflow_at, at_as_of):
    settings, result = mlflow_at
    first = registry.champion_version("enterprise")
    good = registry.load_version("enterprise", alias=registry.CHAMPION).model
    rows = at_as_of[1].enterprise
    import mlflow

    with mlflow.start_run():
        version = registry.log_model(good, "enterprise", rows)
    registry.promote("enterprise", version)
    assert registry.champion_version("enterprise") == version
    assert registry.rollback("enterprise") == first
    assert registry.champion_version("enterprise") == first


def test_score_files_follow_the_contract_and_are_reproducible(mlflow_at, small_snapshot, at_as_of, tmp_path):
    settings, result = mlflow_at
    snap, _ = at_as_of
    ent = registry.load_version("enterprise", alias=registry.CHAMPION)
    tip = registry.load_version("tip", alias=registry.CHAMPION)
    digest = snapshot_digest(small_snapshot)
    versions = {"enterprise": ent.version, "tip": tip.version}
    a = score_snapshot(snap, result.as_of, ent.model, tip.model, versions, digest)
    a.write(tmp_path / "a")
    b = score_snapshot(snap, result.as_of, ent.model, tip.model, versions, digest)
    b.write(tmp_path / "b")
    for name in ("enterprise_leads.csv", "tip_leads.csv", "site_leads.csv", "ledger_mismatch.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    e = pd.read_csv(tmp_path / "a" / "enterprise_leads.csv")
    assert list(e.columns) == CONTRACT_COLUMNS["enterprise"]
    assert e["score"].between(0, 1).all() and list(e["rank"]) == list(range(1, len(e) + 1))
    reasons = [json.loads(r) for r in e["reasons"]]
    assert all(isinstance(r, list) and r for r in reasons)
    assert sum("探索性抽样" in " ".join(r) for r in reasons[:20]) == 2  # 10% of the first 20
    t = pd.read_csv(tmp_path / "a" / "tip_leads.csv", keep_default_na=False)
    assert list(t.columns) == CONTRACT_COLUMNS["tip"]
    s = pd.read_csv(tmp_path / "a" / "site_leads.csv")
    assert list(s.columns) == CONTRACT_COLUMNS["site"]
    # a different model version draws a different exploration sample (seeded by the version)
    c = score_snapshot(snap, result.as_of, ent.model, tip.model, {**versions, "enterprise": "999"}, digest)
    assert list(c.enterprise["enterprise_id"].head(18)) == list(a.enterprise["enterprise_id"].head(18))


def test_score_one_tip_at_intake(mlflow_at, at_as_of):
    settings, result = mlflow_at
    snap, fs = at_as_of
    tip = registry.load_version("tip", alias=registry.CHAMPION)
    stops = fs.stops[~fs.stops["registered"]]
    s = stops.iloc[len(stops) // 2]
    out = score_tip({"tip_id": "NEW1", "received_at": (s["end"] + pd.Timedelta(hours=5)).isoformat(), "channel": "12369",
                     "text": "晚上有罐车在河边倒黑色的油，很臭", "lat": float(s["lat"]), "lon": float(s["lon"])},
                    snap, fs, tip.model)
    assert 0 <= out["score"] <= 1 and out["reasons"]
    assert out["corroboration"]["stops_nearby"], "the stop we placed the tip at must corroborate it"
    assert str(s["vehicle_id"]) in out["vehicle_ids"]


def test_cli_score_writes_files(mlflow_at, small_snapshot, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from hazleads.cli.main import app

    settings, result = mlflow_at
    monkeypatch.setenv("HAZLEADS_HOME", str(settings.home_dir))
    res = CliRunner().invoke(app, ["score", "--data", str(small_snapshot), "--as-of", str(result.as_of.date()), "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == sorted(
        ["enterprise_leads.csv", "tip_leads.csv", "site_leads.csv", "ledger_mismatch.csv", "vehicle_leads.csv"])
    shutil.rmtree(tmp_path / "o")


def test_snapshot_without_cases_is_served_the_rules_with_a_list(small_snapshot, tmp_path, monkeypatch):
    from hazleads.settings import Settings
    from tests.reliability_support import thin_copy
    from training.pipeline import run_training

    # one fix in 25 kept: what is served without cases does not depend on the fixes' density
    data = thin_copy(small_snapshot, tmp_path / "nocases")
    (data / "cases.csv").unlink()
    monkeypatch.setenv("HAZLEADS_HOME", str(tmp_path / "home"))
    settings = Settings(home=tmp_path / "home")
    result = run_training(data, settings)
    assert any("too few labels" in n and "rules are served" in n for n in result.notes)
    assert [d.kind for d in result.decisions if d.promoted] == ["enterprise", "tip"], result.decisions
    ent = registry.load_version("enterprise", alias=registry.CHAMPION)
    assert ent.tags["model"] == "rules"
    snap = load_snapshot(data)
    leads = score_snapshot(snap, result.as_of, ent.model, registry.load_version("tip", alias=registry.CHAMPION).model,
                           {"enterprise": ent.version, "tip": "1"}, "d")
    top = leads.enterprise.head(20)
    assert top["score"].between(0, 1).all()
    assert all(json.loads(r) for r in top["reasons"])


def test_an_experiment_without_lead_models_registers_nothing(mlflow_at, small_snapshot):
    # a baselines-only run is an evaluation: it must not slip a rule model in as champion
    from training.config import TrainConfig
    from training.pipeline import run_training

    settings, _ = mlflow_at
    before = {k: registry.champion_version(k) for k in ("enterprise", "tip")}
    config = TrainConfig(name="baselines", enterprise_models=["rules", "random"], tip_models=["channel", "random"])
    result = run_training(small_snapshot, settings, config=config)
    assert result.decisions == []
    assert {"rules", "random"} <= set(result.metrics["model"])
    assert any("evaluation only" in n for n in result.notes)
    assert {k: registry.champion_version(k) for k in ("enterprise", "tip")} == before


def test_unlabelled_enterprises_as_weak_negatives_train_on_every_row(small_snapshot, trained_home):
    from features.snapshot import load_snapshot as load
    from training.config import TrainConfig
    from training.dataset import build_dataset
    from training.fit import fit_fold, label_rows
    from training.pipeline import _fit_windows

    snap = load(small_snapshot)
    config = TrainConfig(selective_labels="unlabelled_negative", unlabelled_weight=0.3, enterprise_models=["lgbm"], tip_models=[])
    first_day = min(snap.electricity["date"].min(), snap.manifests["departed_at"].min())
    _, dates, folds, _ = _fit_windows(config.splits, first_day, snap.last_day)
    split = folds[0]
    # the features come from the trained home's cache (the same snapshot, dates and feature code)
    dataset, _ = build_dataset(snap, dates, snapshot_digest(small_snapshot), cache_dir=trained_home[0] / "cache")
    fit_d = split.fit_dates(sorted(dataset.enterprise["as_of"].unique()), config.splits.fit_every_months)
    fit = label_rows(dataset.enterprise[dataset.enterprise["as_of"].isin(fit_d)], snap.cases, split.label_days,
                     known_by=split.label_horizon)
    assert fit["label"].isna().any() and fit["label"].notna().any()
    weak = fit_fold(split, dataset.enterprise, dataset.tip, snap.cases, config)
    plain = fit_fold(split, dataset.enterprise, dataset.tip, snap.cases, config.model_copy(update={"selective_labels": "none"}))
    # the booster saw every fit row, not only the investigated ones, and it scores differently
    assert weak.enterprise_model.n_train_rows_ == len(fit)
    assert plain.enterprise_model.n_train_rows_ == int(fit["label"].notna().sum())
    assert not np.allclose(weak.enterprise_scores["lgbm"], plain.enterprise_scores["lgbm"])


def test_cases_after_the_test_start_cannot_change_a_trained_model(small_snapshot, trained_home):
    # flip the outcome of every case opened after the fold's first test day (and add new ones):
    # the models fitted for that fold must score its test rows exactly as before
    from features.snapshot import load_snapshot as load
    from training.config import TrainConfig
    from training.dataset import build_dataset
    from training.fit import fit_fold
    from training.pipeline import _fit_windows

    snap = load(small_snapshot)
    config = TrainConfig(enterprise_models=["lgbm", "logistic"], tip_models=["lgbm"])
    first_day = min(snap.electricity["date"].min(), snap.manifests["departed_at"].min())
    _, dates, folds, _ = _fit_windows(config.splits, first_day, snap.last_day)
    split = folds[-1]  # the earliest fold: the most cases come after it
    # the features come from the trained home's cache (the same snapshot, dates and feature code)
    dataset, _ = build_dataset(snap, dates, snapshot_digest(small_snapshot), cache_dir=trained_home[0] / "cache")
    cases = snap.cases
    later = cases["opened"] > split.label_horizon
    assert later.sum() >= 5 and (~later).sum() >= 5
    flipped = cases.copy()
    flipped.loc[later, "outcome"] = flipped.loc[later, "outcome"].map({"confirmed": "unfounded", "unfounded": "confirmed"}).fillna("confirmed")
    extra = cases[~later].head(5).assign(case_id=lambda c: c["case_id"] + "-late", opened=split.label_horizon + pd.Timedelta(days=1))
    flipped = pd.concat([flipped, extra], ignore_index=True)
    a = fit_fold(split, dataset.enterprise, dataset.tip, cases, config)
    b = fit_fold(split, dataset.enterprise, dataset.tip, flipped, config)
    for m in ("lgbm", "logistic"):
        np.testing.assert_array_equal(a.enterprise_scores[m].to_numpy(), b.enterprise_scores[m].to_numpy())
    if a.tip_model is not None:
        np.testing.assert_array_equal(a.tip_model.predict_proba(a.test_tip_rows)[:, 1], b.tip_model.predict_proba(b.test_tip_rows)[:, 1])
    # and the flip is visible where it should be: the test side's own labels changed
    assert not a.enterprise_scores["label"].equals(b.enterprise_scores["label"])


def test_models_route_shows_the_champion_per_county_and_industry(trained_home, small_snapshot, hand_snapshot, tmp_path):
    from mlflow import MlflowClient

    from serving.model_groups import group_tables
    from tests.service_support import start_service

    home, settings, result = trained_home
    snap = load_snapshot(small_snapshot)
    hand = {**hand_snapshot, "mlflow_uri": settings.mlflow_uri}
    with start_service(f"sqlite:///{tmp_path / 'svc.db'}", tmp_path, hand) as svc:
        assert svc.get("inv", "/v1/models").status_code == 403
        r = svc.get("admin", "/v1/models")
        assert r.status_code == 200, r.text
        ent, tip = r.json()["models"]
        champ = next(v for v in ent["versions"] if v["champion"])
        counties = {g["group"]: g for g in champ["by_county"]}
        assert set(counties) == set(snap.enterprises["county"].dropna())
        assert sum(g["labels_n"] for g in counties.values()) > 0
        assert any(g["labels_precision_at_k"] is not None for g in counties.values())
        industries = {g["group"]: g["name"] for g in champ["by_industry"]}
        assert industries["chemical"] == "化工" and industries["other"] == "其他"
        assert sum(g["rows"] for g in champ["by_industry"]) == sum(g["rows"] for g in counties.values())
        assert all(v["by_county"] == [] for v in tip["versions"])  # the tables are of the enterprise lists
    # a run without the tables (or no run at all) gives empty lists
    registry.configure(settings)
    assert group_tables(MlflowClient(), None) == {"by_county": [], "by_industry": []}
    assert group_tables(MlflowClient(), "0" * 32) == {"by_county": [], "by_industry": []}


@pytest.mark.parametrize("seed", [0, 1])
def test_the_anomaly_baseline_is_the_forest_fitted_on_the_fitting_rows(small_snapshot, trained_home, seed):
    # the baseline is taken from the lead model when the model fitted the same forest (seed 0, the
    # model's own); with another seed it is fitted anew. Either way: a forest on the fitting rows.
    from features.snapshot import load_snapshot as load
    from models import AnomalyScorer
    from models.bundle import matrix
    from training.config import TrainConfig
    from training.dataset import build_dataset
    from training.fit import enterprise_feature_names, fit_fold
    from training.pipeline import _fit_windows

    snap = load(small_snapshot)
    config = TrainConfig(enterprise_models=["lgbm", "anomaly"], tip_models=[], seed=seed)
    first_day = min(snap.electricity["date"].min(), snap.manifests["departed_at"].min())
    _, dates, folds, _ = _fit_windows(config.splits, first_day, snap.last_day)
    split = folds[0]
    dataset, _ = build_dataset(snap, dates, snapshot_digest(small_snapshot), cache_dir=trained_home[0] / "cache")
    ent = dataset.enterprise
    all_dates = sorted(ent["as_of"].unique())
    fit = ent[ent["as_of"].isin(split.fit_dates(all_dates, config.splits.fit_every_months))]
    test = ent[ent["as_of"].isin(split.test_dates(all_dates))]
    feats = enterprise_feature_names(ent)
    result = fit_fold(split, ent, dataset.tip, snap.cases, config)
    assert result.enterprise_model.anomaly_ is not None
    anew = AnomalyScorer(n_estimators=100, random_state=seed).fit(matrix(fit, feats)).predict_proba(matrix(test, feats))[:, 1]
    np.testing.assert_array_equal(result.enterprise_scores["anomaly"].to_numpy(), anew)
