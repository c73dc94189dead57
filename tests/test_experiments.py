"""The experiment configurations in experiments/ load, and the production one is what runs by default."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.config import ConfigError, TrainConfig, load_config

EXPERIMENTS = sorted((Path(__file__).resolve().parents[1] / "experiments").glob("*.toml"))


@pytest.mark.parametrize("path", EXPERIMENTS, ids=[p.stem for p in EXPERIMENTS])
def test_every_experiment_loads_and_names_itself_after_its_file(path):
    config = load_config(path)
    assert config.name == path.stem
    assert config.description


def test_production_experiment_is_the_default_configuration():
    # `hazleads train` without --experiment and the service's retraining use the defaults
    production = load_config(EXPERIMENTS[[p.stem for p in EXPERIMENTS].index("lgbm")])
    assert production.model_dump(exclude={"name", "description"}) == TrainConfig().model_dump(exclude={"name", "description"})


def test_a_typo_in_an_experiment_is_an_error(tmp_path):
    bad = tmp_path / "typo.toml"
    bad.write_text('name = "typo"\nselective_label = "none"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="selective_label"):
        load_config(bad)
