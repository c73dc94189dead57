"""Folds fitted by an earlier run are taken from the home's cache when nothing their models learn
from has changed (``training.fold_cache``): the run gives what fitting them anew gives, test labels
read from the new cases; a case known by a fold's horizon, a changed row or setting fits it again."""

from __future__ import annotations

import pickle
from pathlib import Path

import pandas as pd
import pytest

from training import pipeline
from training.fold_cache import KEEP, FoldCache
from training.registry import signing_key

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def run_inputs(three_folds):
    return three_folds


def _late_outcomes(cases: pd.DataFrame, after: pd.Timestamp, before: pd.Timestamp, enterprises) -> pd.DataFrame:
    """``cases`` with every outcome opened in (after, before) flipped, and a confirmed case opened
    the day after ``after`` at each of ``enterprises``: test labels change, nothing known by ``after``."""
    out = cases.copy()
    window = (out["opened"] > after) & (out["opened"] < before)
    out.loc[window, "outcome"] = out.loc[window, "outcome"].map({"confirmed": "unfounded", "unfounded": "confirmed"}).fillna("confirmed")
    new = pd.DataFrame({"case_id": [f"LATE{i}" for i in range(len(enterprises))], "opened": after + pd.Timedelta(days=1),
                        "enterprise_id": list(enterprises), "tip_id": None, "outcome": "confirmed", "violation": "dumping",
                        "tonnes": 1.0, "criminal": False})
    return pd.concat([out, new.astype({"opened": "datetime64[ns]"})], ignore_index=True)


def test_a_rerun_after_new_outcomes_takes_the_folds_they_cannot_reach_and_gives_the_same_run(run_inputs, tmp_path):
    dataset, cases, folds, config, truth = run_inputs
    cache = tmp_path / "folds"
    kept_in = (cache, signing_key(tmp_path))
    first, *_ = pipeline.train_models(dataset, cases, folds, config, truth, workers=1, fold_cache=kept_in)
    assert len(list(cache.glob("*.pickle"))) == len(folds)
    # outcomes after the earlier folds' horizons but before the latest fold's: those two are taken
    # from the cache (their test labels change), the latest is fitted again
    latest = folds[0]
    assert folds[1].label_horizon < latest.label_horizon
    test_rows = first[-1].enterprise_scores
    unlabelled = test_rows.loc[test_rows["label"].isna(), "entity_id"].drop_duplicates().head(5)
    changed = _late_outcomes(cases, folds[1].label_horizon, latest.label_horizon, unlabelled)
    kept = pipeline.train_models(dataset, changed, folds, config, truth, workers=1, fold_cache=kept_in)
    anew = pipeline.train_models(dataset, changed, folds, config, truth, workers=1)
    (r1, m1, c1, n1), (r2, m2, c2, n2) = kept, anew
    pd.testing.assert_frame_equal(m1, m2, check_exact=True)
    for a, b in zip(r1, r2, strict=True):
        pd.testing.assert_frame_equal(a.enterprise_scores, b.enterprise_scores, check_exact=True)
        pd.testing.assert_frame_equal(a.tip_scores, b.tip_scores, check_exact=True)
        pd.testing.assert_frame_equal(a.test_enterprise_rows, b.test_enterprise_rows, check_exact=True)
        pd.testing.assert_frame_equal(a.test_tip_rows, b.test_tip_rows, check_exact=True)
    assert [c.reason for c in c1] == [c.reason for c in c2]
    reused = [n for n in n1 if "kept from an earlier run" in n]
    assert sorted(n.split(":")[0] for n in reused) == sorted(f.name for f in folds[1:])
    assert [n for n in n1 if n not in reused] == n2
    # the kept earliest fold's test labels did change: they were read again, not kept
    assert not first[-1].enterprise_scores["label"].equals(r1[-1].enterprise_scores["label"])
    assert len(list(cache.glob(f"{latest.name}-*.pickle"))) == 2  # the latest fold fitted on both case sets


def test_a_case_known_by_the_horizon_changes_the_key_and_one_after_it_does_not(run_inputs, tmp_path):
    dataset, cases, folds, config, _ = run_inputs
    cache = FoldCache.of(tmp_path, dataset.enterprise, dataset.tip, b"k")
    split = folds[-1]
    key = cache.key(split, cases, config, "pandas", True)
    ent = dataset.enterprise["enterprise_id"].iloc[0]

    def plus(day: pd.Timestamp) -> pd.DataFrame:
        return _late_outcomes(cases, day - pd.Timedelta(days=1), day, [ent])

    assert cache.key(split, plus(split.label_horizon), config, "pandas", True) != key  # opened on the horizon: known
    assert cache.key(split, plus(split.label_horizon + pd.Timedelta(days=1)), config, "pandas", True) == key
    assert cache.key(split, cases.sample(frac=1.0, random_state=3), config, "pandas", True) == key  # order is not content
    assert cache.key(split, cases, config.model_copy(update={"seed": 1}), "pandas", True) != key
    assert cache.key(split, cases, config, "pandas", False) != key
    assert cache.key(folds[0], cases, config, "pandas", True) != key
    moved = dataset.enterprise.copy()
    number = moved.select_dtypes("float64").columns[0]
    moved.loc[moved.index[0], number] = 1e9  # one value of one row
    assert FoldCache.of(tmp_path, moved, dataset.tip, b"k").key(split, cases, config, "pandas", True) != key
    # the same rows read back from the feature cache carry their dates in microseconds
    in_us = dataset.enterprise.astype({"as_of": "datetime64[us]"})
    assert FoldCache.of(tmp_path, in_us, dataset.tip, b"k").key(split, cases, config, "pandas", True) == key


def test_an_entry_changed_or_signed_by_another_home_is_fitted_again_never_unpickled(run_inputs, tmp_path):
    dataset, cases, folds, config, truth = run_inputs
    one = [folds[0]]
    cache = tmp_path / "folds"
    kept_in = (cache, signing_key(tmp_path))
    first, m1, *_ = pipeline.train_models(dataset, cases, one, config, truth, workers=1, fold_cache=kept_in)
    (entry,) = cache.glob("*.pickle")
    assert (tmp_path / ".signing_key").stat().st_mode & 0o077 == 0  # the key: its owner's only
    good = entry.read_bytes()
    marker = tmp_path / "executed"
    evil = pickle.dumps(_Marker(str(marker)))
    for bad in (good[:-10], good[:64] + evil, b"0" * 64 + evil):  # cut short; a pickle swapped in
        entry.write_bytes(bad)
        again, m2, _, notes = pipeline.train_models(dataset, cases, one, config, truth, workers=1, fold_cache=kept_in)
        assert not any("kept from an earlier run" in n for n in notes)
        assert any("refused" in n for n in notes)
        pd.testing.assert_frame_equal(m1, m2, check_exact=True)
        assert not marker.exists()
        assert entry.read_bytes()[64:] != evil  # written again, signed
    # an entry signed by another home's key (a cache copied between homes) is not taken either
    other = (cache, signing_key(tmp_path / "other-home"))
    _, _, _, notes = pipeline.train_models(dataset, cases, one, config, truth, workers=1, fold_cache=other)
    assert not any("kept from an earlier run" in n for n in notes)
    _, _, _, notes = pipeline.train_models(dataset, cases, one, config, truth, workers=1, fold_cache=other)
    assert any("kept from an earlier run" in n for n in notes)  # its own entry, now


def test_old_entries_are_dropped(run_inputs, tmp_path):
    dataset, cases, folds, config, truth = run_inputs
    fc = FoldCache.of(tmp_path, dataset.enterprise, dataset.tip, signing_key(tmp_path))
    for k in range(KEEP + 2):
        fc.save(f"{folds[0].name}-{k:032d}", {"fold": k})
    kept = sorted(tmp_path.glob(f"{folds[0].name}-*.pickle"))
    assert [fc.load(p.stem)[0]["fold"] for p in kept] == list(range(2, 2 + KEEP))


class _Marker:
    """Unpickling this creates a file: proof that a pickle was executed."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


def test_a_signing_key_that_is_not_one_is_named_not_used(tmp_path):
    from training.registry import ModelLoadError

    key = signing_key(tmp_path)
    assert len(key) == 32 and signing_key(tmp_path) == key  # made once, then read
    (tmp_path / ".signing_key").write_text("not hex")
    with pytest.raises(ModelLoadError, match=r"\.signing_key: not a signing key"):
        signing_key(tmp_path)
