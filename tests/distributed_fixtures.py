"""A Dask ``LocalCluster`` for the cluster tests: two worker processes of one thread each (processes,
because LightGBM's Dask training needs one process per worker), started once per session.

Registered for the whole suite in ``tests/conftest.py``: ask for them by name, never import them
(an imported session fixture is a second one, with a second cluster).
"""

from __future__ import annotations

import pandas as pd
import pytest


@pytest.fixture(scope="session")
def dask_client():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        yield client


@pytest.fixture(scope="session")
def small_on_cluster(small_snapshot, dask_client):
    """The small snapshot loaded twice: in memory, and with its fixes left on the cluster."""
    from features import load_snapshot

    return load_snapshot(small_snapshot), load_snapshot(small_snapshot, trajectories="cluster", client=dask_client)


MID_YEAR = "2021-06-30"


@pytest.fixture(scope="session")
def small_features(small_on_cluster, dask_client):
    """Features of the small snapshot at mid-year and at its last day, built by pandas and on the
    cluster: {day: (pandas FeatureSet, cluster FeatureSet)}."""
    from features.build import build

    memory, cluster = small_on_cluster
    out = {}
    for day in (pd.Timestamp(MID_YEAR), memory.last_day):
        out[day] = (build(memory, day), build(cluster, day, engine="dask", dask_client=dask_client))
    return out
