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


def test_the_per_world_table_averages_each_worlds_dates_and_the_summary_finds_the_worst():
    import pandas as pd

    from experiments.worlds import markdown, per_world, summary

    rows = []
    for world, prod, rules in ((1, (0.5, 0.7), (0.4, 0.4)), (2, (0.2, 0.2), (0.3, 0.1))):
        for date, p, r in zip(("2024-01-31", "2024-02-29"), prod, rules, strict=True):
            rows += [{"world": world, "date": date, "recipe": "production", "list": "enterprise", "metric": "p@20", "value": p},
                     {"world": world, "date": date, "recipe": "rules", "list": "enterprise", "metric": "p@20", "value": r},
                     {"world": world, "date": date, "recipe": "world", "list": "info", "metric": "violators", "value": 10.0}]
    res = pd.DataFrame(rows)
    table = per_world(res, "enterprise", "p@20", ["production", "rules"])
    assert table.loc[1, "production"] == 0.6 and table.loc[2, "rules"] == 0.2
    s = summary(res, lists=("enterprise",), metrics=("p@20",))
    prod = s.loc[("enterprise", "p@20", "production")]
    assert prod["worst"] == 0.2 and prod["worst_vs_rules"] == 0.0 and prod["wins_vs_rules"] == 1.0
    md = markdown(table)
    assert "| 1 | 0.600 | 0.400 | 10 |" in md and md.splitlines()[1].count("---:") == 4
