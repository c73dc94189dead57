"""A retraining after new outcomes on a snapshot whose features are all cached reads neither the
fixes nor anything built from them; a changed snapshot file is never served the cached features."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

import features.snapshot
from features.catalogue import EVIDENCE_SEP
from features.snapshot import load_snapshot, snapshot_digest
from hazleads.settings import Settings
from serving.repo.outcomes import CASE_COLUMNS
from training import pipeline
from training.dataset import feature_cache_dir, read_span
from training.labels import enterprise_labels, investigated

pytestmark = pytest.mark.slow


class _Stop(Exception):
    """Raised by the spy in place of fitting: the test is about what the fit would be given."""


@pytest.fixture()
def warm_copy(small_snapshot, trained_home, tmp_path, monkeypatch):
    """A copy of the small snapshot (same digest) and a fresh home holding the trained home's
    feature cache; ``train_models`` spied (its dataset and cases kept, nothing fitted); after
    ``forbid_fixes()`` reading the trajectory table fails."""
    folder = tmp_path / "snapshot"
    shutil.copytree(small_snapshot, folder)
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    shutil.copytree(trained_home[0] / "cache", home / "cache")
    seen: dict = {}

    def spy(dataset, cases, folds, config, *args, **kwargs):
        seen.update(dataset=dataset, cases=cases, folds=folds)
        raise _Stop

    real_read = features.snapshot.read_table

    def read_table(folder_, name, log):
        if name == "trajectories":
            raise AssertionError("the trajectory table was read")
        return real_read(folder_, name, log)

    monkeypatch.setattr(pipeline, "train_models", spy)
    return folder, Settings(home=home), seen, lambda: monkeypatch.setattr(features.snapshot, "read_table", read_table)


def _one_outcome(enterprise_id: str, opened: pd.Timestamp) -> pd.DataFrame:
    return pd.DataFrame([{"case_id": "SVC-000001", "opened": opened, "enterprise_id": enterprise_id, "tip_id": None,
                          "outcome": "confirmed", "violation": "dumping_3t", "tonnes": 3.0, "criminal": False}],
                        columns=CASE_COLUMNS)


def test_warm_retrain_reads_no_fix_and_sees_the_new_label(warm_copy, small_snapshot, trained_home):
    folder, settings, seen, forbid_fixes = warm_copy
    forbid_fixes()
    # the cold run's features: what the trained home's run built from the full snapshot, date by date
    cold_dir = feature_cache_dir(trained_home[0] / "cache", snapshot_digest(small_snapshot))
    cold = {pd.Timestamp(f.name.removesuffix("-enterprise.parquet")): f for f in cold_dir.glob("*-enterprise.parquet")}
    small = load_snapshot(small_snapshot, trajectories="skip")
    d = max(x for x in cold if x <= trained_home[2].as_of - pd.Timedelta(days=120))
    target = next(e for e in small.enterprises["enterprise_id"] if e not in investigated(small.cases, d, 365))
    outcome = _one_outcome(target, d + pd.Timedelta(days=10))

    with pytest.raises(_Stop):
        pipeline.run_training(folder, settings, recorded_outcomes=outcome, register=False)

    ent = seen["dataset"].enterprise
    assert set(ent["as_of"]) == set(cold)
    for day, f in cold.items():  # a training run's rows: the cached features less their evidence (quoted by reasons)
        got = ent[ent["as_of"] == day].drop(columns="as_of").reset_index(drop=True)
        want = pd.read_parquet(f)
        want = want.drop(columns=[c for c in want.columns if EVIDENCE_SEP in c])
        pd.testing.assert_frame_equal(got, want, check_dtype=False)  # concat turns some str columns object
    # and the new outcome is a label: the target was not investigated after d before, now confirmed
    label_days = seen["folds"][0].label_days
    assert enterprise_labels(small.cases, d, label_days).get(target) is None
    assert enterprise_labels(seen["cases"], d, label_days).get(target) == 1


def test_a_changed_snapshot_file_is_loaded_in_full(warm_copy):
    folder, settings, _, forbid_fixes = warm_copy
    forbid_fixes()
    fixes = next(folder.glob("trajectories.*"))
    data = bytearray(fixes.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one byte changed, same size: another snapshot as far as the digest can tell
    fixes.write_bytes(bytes(data))
    with pytest.raises(AssertionError, match="trajectory table was read"):
        pipeline.run_training(folder, settings, register=False)


def test_a_date_missing_from_the_cache_loads_the_snapshot_in_full(warm_copy):
    folder, settings, _, forbid_fixes = warm_copy
    forbid_fixes()
    entry = sorted((settings.home / "cache").rglob("*-enterprise.parquet"))[-1]
    entry.unlink()  # the latest as-of date's features gone: they need the fixes
    with pytest.raises(AssertionError, match="trajectory table was read"):
        pipeline.run_training(folder, settings, register=False)


def test_a_first_run_hashes_the_snapshot_once_beside_its_load(small_snapshot, tmp_path, monkeypatch):
    """An empty home is not hashed for the cache look-up; the load's digest (taken in a thread
    meanwhile) is the snapshot's, and the span is cached under it for the next run."""
    calls: list = []
    real = pipeline.snapshot_digest

    def counted(path):
        calls.append(path)
        return real(path)

    def stop(*args, **kwargs):
        raise _Stop

    monkeypatch.setattr(pipeline, "snapshot_digest", counted)
    monkeypatch.setattr(pipeline, "build_dataset", stop)
    home = tmp_path / "home"
    with pytest.raises(_Stop):
        pipeline.run_training(small_snapshot, Settings(home=home), register=False)
    assert len(calls) == 1
    span = read_span(home / "cache", real(small_snapshot))
    small = load_snapshot(small_snapshot, trajectories="skip")
    assert span is not None and span.first_day == min(small.electricity["date"].min(), small.manifests["departed_at"].min())
