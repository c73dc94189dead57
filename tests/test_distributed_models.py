"""LightGBM trained through its Dask interface, and lead lists scored on the cluster: the same kind
of model (a plain booster that serves without Dask), and the same lists for the same model."""

from __future__ import annotations

import pickle

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from models import LeadClassifier
from models.bundle import EnterpriseLeadModel, matrix
from models.lgbm_dask import DaskLeadClassifier
from training.config import TrainConfig
from training.distributed import ClusterScorer, score_on_cluster
from training.fit import enterprise_feature_names, lgbm_base
from training.score import score_snapshot

# LightGBM's Dask training can hang (seen once in four runs of this file on a busy shared machine; lightgbm-org/LightGBM
# issue 4942): a hang fails the test after 10 minutes instead of holding CI to its limit
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

SMALL_TREES = dict(n_estimators=60, min_child_samples=5, num_leaves=7)


@pytest.fixture(scope="module")
def labelled(small_snapshot, small_features):
    """Enterprise rows at both dates, labelled by the simulation's truth (violating at some time)."""
    violators = set(pd.read_csv(small_snapshot / "truth" / "behaviours.csv")["enterprise_id"])
    rows = pd.concat([fs.enterprise.reset_index().assign(as_of=day) for day, (fs, _) in small_features.items()],
                     ignore_index=True)
    y = rows["enterprise_id"].isin(violators).astype(int).to_numpy()
    assert 0 < y.sum() < len(y)
    return rows, y, enterprise_feature_names(rows)


def test_dask_lightgbm_is_the_same_kind_of_model(labelled, dask_client):
    rows, y, feats = labelled
    X = matrix(rows, feats)
    local = LeadClassifier(**SMALL_TREES).fit(X, y)
    one_part = DaskLeadClassifier(**SMALL_TREES, n_partitions=1).fit(X, y)
    np.testing.assert_allclose(one_part.predict_proba(X), local.predict_proba(X), rtol=1e-12)  # one machine: exact
    spread = DaskLeadClassifier(**SMALL_TREES, min_rows_per_partition=50).fit(X, y)  # one part a worker
    assert isinstance(spread.booster_, lgb.Booster) and spread.booster_.num_trees() == SMALL_TREES["n_estimators"]
    assert spread.booster_.feature_name() == local.booster_.feature_name()
    served = pickle.loads(pickle.dumps(spread))  # as the registry stores it: no Dask needed to predict
    p = served.predict_proba(X)[:, 1]
    np.testing.assert_allclose(p, spread.predict_proba(X)[:, 1])
    # data-parallel boosting bins and bags per worker: not bit-identical, the same model in substance
    assert spearmanr(p, local.predict_proba(X)[:, 1]).statistic > 0.8
    assert list(served.contributions(X.head(3)).columns) == [*feats, "bias"]


def test_training_configuration_picks_the_dask_estimator(labelled, dask_client):
    rows, y, feats = labelled
    base = lgbm_base(TrainConfig(), "dask")
    assert isinstance(base, DaskLeadClassifier) and isinstance(lgbm_base(TrainConfig()), LeadClassifier)
    model = EnterpriseLeadModel(feats, base.set_params(**SMALL_TREES), anomaly=True).fit(rows, y)
    assert isinstance(model.model_.base, DaskLeadClassifier)
    assert ((model.predict_proba(rows)[:, 1] >= 0) & (model.predict_proba(rows)[:, 1] <= 1)).all()


def test_cluster_scores_and_reasons_are_the_models_own(labelled, dask_client):
    rows, y, feats = labelled
    model = EnterpriseLeadModel(feats, LeadClassifier(**SMALL_TREES), anomaly=True).fit(rows, y)
    some = rows.head(60)
    remote = ClusterScorer(model, dask_client, rows_per_task=25)  # three tasks
    np.testing.assert_array_equal(remote.predict_proba(some), model.predict_proba(some))
    en = model.reasons(some, "en")
    assert remote.reasons(some, "en") == en
    assert remote.explain(some) == (model.reasons(some, "zh"), en)


def test_lead_lists_scored_on_the_cluster_are_the_pandas_lists(labelled, small_on_cluster, small_features, dask_client):
    rows, y, feats = labelled
    memory, cluster = small_on_cluster
    day = memory.last_day
    pandas_fs, cluster_fs = small_features[day]
    model = EnterpriseLeadModel(feats, LeadClassifier(**SMALL_TREES), anomaly=True).fit(rows, y)
    versions = {"enterprise": "7", "tip": ""}
    want = score_snapshot(memory, day, model, None, versions, "digest", features=pandas_fs)
    got = score_on_cluster(cluster, day, model, None, versions, "digest", dask_client, features=cluster_fs)
    for name in ("enterprise", "tip", "site", "ledger_mismatch"):
        pd.testing.assert_frame_equal(getattr(got, name), getattr(want, name), check_exact=False, rtol=1e-12, obj=name)
    assert len(got.enterprise) == len(memory.enterprises) and got.enterprise["reasons"].str.len().gt(2).any()


def test_dask_estimator_takes_every_parameter_of_the_local_one():
    assert set(LeadClassifier().get_params()) <= set(DaskLeadClassifier().get_params())
