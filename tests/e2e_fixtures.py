"""Shared end-to-end fixtures: a small simulated snapshot, and a home folder trained on it.

Import the fixtures you need into a test module (``from tests.e2e_fixtures import small_snapshot``);
they are session-scoped, so the simulation and the training run happen once per test session.
"""

from __future__ import annotations

import os

import pytest

SMALL_SEED = 11


@pytest.fixture(scope="session")
def small_snapshot(tmp_path_factory):
    import simulation

    out = tmp_path_factory.mktemp("small") / "snapshot"
    simulation.simulate(out, seed=SMALL_SEED, scale="small")
    return out


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
