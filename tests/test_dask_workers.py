"""The cluster's workers as the Dask paths read them (``features.distributed.worker_addresses``): a
cluster with no worker registered for a moment (starting, or workers reconnecting after missed
heartbeats on a busy machine) is waited for, not taken for an empty one; one that stays empty is
an error that says so."""

from __future__ import annotations

import threading

import pytest

distributed = pytest.importorskip("distributed")


def test_a_worker_that_registers_late_is_waited_for_and_none_at_all_is_an_error():
    from features.distributed import n_workers, worker_addresses

    with distributed.LocalCluster(n_workers=0, processes=False, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        with pytest.raises(RuntimeError, match="no workers"):
            worker_addresses(client, wait_s=0.5)
        timer = threading.Timer(1.0, cluster.scale, args=(1,))
        timer.start()
        try:
            workers = worker_addresses(client, wait_s=60)
        finally:
            timer.join()
        assert len(workers) == 1 and workers == sorted(client.scheduler_info()["workers"])
        assert n_workers(client) == 1
