"""The later folds fitted in a forked process (``training.fold_workers``) give the run fitted in one
process, forked or started from a fork server: the same metrics, notes, choices and models; a worker
that dies fails the run naming the folds it did not fit."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from training import pipeline
from training.fold_workers import FoldWorkerError, later_folds

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]  # a worker stuck after the fork fails, not hangs


@pytest.fixture(scope="module")
def run_inputs(three_folds):
    return three_folds


@pytest.fixture(scope="module")
def one_process(run_inputs):
    dataset, cases, folds, config, truth = run_inputs
    return pipeline.train_models(dataset, cases, folds, config, truth, workers=1)


@pytest.mark.parametrize("start", ["fork", "forkserver"])
def test_two_processes_fit_the_run_one_process_fits(run_inputs, one_process, start):
    dataset, cases, folds, config, truth = run_inputs
    said: list[str] = []
    two = pipeline.train_models(dataset, cases, folds, config, truth, said.append, workers=2, start=start)
    assert any("second process" in m for m in said)  # it did start one
    (r1, m1, c1, n1), (r2, m2, c2, n2) = one_process, two
    pd.testing.assert_frame_equal(m2, m1, check_exact=True)
    assert n2 == n1 and len(r2) == len(r1) == len(folds)
    for a, b in zip(r1, r2, strict=True):
        assert a.split.name == b.split.name
        pd.testing.assert_frame_equal(b.enterprise_scores, a.enterprise_scores, check_exact=True)
        pd.testing.assert_frame_equal(b.tip_scores, a.tip_scores, check_exact=True)
    assert [(c.kind, c.source, c.reason) for c in c2] == [(c.kind, c.source, c.reason) for c in c1]
    for a, b in zip(c1, c2, strict=True):
        rows = dataset.enterprise if a.kind == "enterprise" else dataset.tip
        assert np.array_equal(b.model.predict_proba(rows), a.model.predict_proba(rows))


def _dies(_i: int) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _marks_late(mark: str, _i: int) -> None:
    time.sleep(30)
    Path(mark).write_text("done")


def test_a_worker_from_the_fork_server_that_dies_fails_naming_its_folds():
    """The fork server's worker gets the run pickled (no monkeypatch reaches it): a task that kills
    its process stands for the out-of-memory kill."""
    with pytest.raises(FoldWorkerError, match="with f1, f2 not fitted; set HAZLEADS_WORKERS=1"), \
            later_folds(_dies, [1, 2], ["f0", "f1", "f2"], start="forkserver") as later:
        later.results()
    assert not mp.active_children()


def test_a_failure_in_the_parent_stops_the_fork_servers_worker_at_once(tmp_path):
    mark = tmp_path / "worker finished"
    with pytest.raises(RuntimeError, match="the first fold failed"), \
            later_folds(partial(_marks_late, str(mark)), [1], ["f0", "f1"], start="forkserver"):
        raise RuntimeError("the first fold failed")
    assert not mp.active_children()
    assert not mark.exists()


def test_a_worker_that_cannot_start_is_reported_naming_the_folds():
    """The fork server's worker is started in a thread; its failure (here: a run that cannot be
    pickled to it) is raised by ``results`` in the run's thread, naming the folds."""
    with pytest.raises(FoldWorkerError, match=r"f1, f2 could not start \(.*pickle.*\); set HAZLEADS_WORKERS=1"), \
            later_folds(lambda i: i, [1, 2], ["f0", "f1", "f2"], start="forkserver") as later:
        later.results()
    assert not mp.active_children()


def test_an_unknown_start_method_is_refused():
    with pytest.raises(ValueError, match="start='spawn': one of fork, forkserver"), \
            later_folds(_dies, [1], ["f0", "f1"], start="spawn"):
        pass


def test_a_fold_worker_that_dies_fails_the_run_naming_its_folds(run_inputs, monkeypatch):
    dataset, cases, folds, config, truth = run_inputs
    real = pipeline.fit_fold

    def dies_in_the_worker(split, *args, **kwargs):
        if mp.parent_process() is not None:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(split, *args, **kwargs)

    monkeypatch.setattr(pipeline, "fit_fold", dies_in_the_worker)
    with pytest.raises(FoldWorkerError, match=f"{folds[1].name}.* not fitted; set HAZLEADS_WORKERS=1"):
        pipeline.train_models(dataset, cases, folds, config, truth, workers=2)
    # and in one process the same run goes through
    results, *_ = pipeline.train_models(dataset, cases, folds, config, truth, workers=1)
    assert len(results) == len(folds)


def test_a_failure_in_the_parent_stops_the_worker_at_once(run_inputs, monkeypatch, tmp_path):
    """The first fold fails in the parent while the worker is still fitting: the run fails with the
    parent's error, and the worker is killed rather than waited for (it would have left a mark)."""
    dataset, cases, folds, config, truth = run_inputs
    mark = tmp_path / "worker finished"

    def slow_worker_failing_parent(split, *args, **kwargs):
        if mp.parent_process() is not None:
            import time

            time.sleep(30)
            mark.write_text("done")
            raise AssertionError("not reached when the worker is stopped")
        raise RuntimeError("the first fold failed")

    monkeypatch.setattr(pipeline, "fit_fold", slow_worker_failing_parent)
    with pytest.raises(RuntimeError, match="the first fold failed"):
        pipeline.train_models(dataset, cases, folds, config, truth, workers=2)
    assert not mp.active_children()
    assert not mark.exists()
