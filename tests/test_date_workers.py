"""Features of many as-of dates built in forked worker processes (``training.date_workers``) are the
tables built in one process, cached the same way; a worker that dies fails the run naming its date
and caches nothing for it; the number of workers follows its rules."""

from __future__ import annotations

import os
import signal

import pandas as pd
import pytest

from features.snapshot import load_snapshot, snapshot_digest
from training import date_workers
from training.dataset import build_dataset, feature_cache_dir
from training.date_workers import DateWorkerError

DAYS = [pd.Timestamp(d) for d in ("2021-04-30", "2021-06-30", "2021-07-31", "2021-09-30", "2021-11-30")]


@pytest.fixture(scope="module")
def snap(small_snapshot):
    return load_snapshot(small_snapshot), snapshot_digest(small_snapshot)


def _same(a, b, check_dtype: bool = True) -> None:
    pd.testing.assert_frame_equal(a.enterprise, b.enterprise, check_exact=True, check_dtype=check_dtype)
    pd.testing.assert_frame_equal(a.tip, b.tip, check_exact=True, check_dtype=check_dtype)


def test_two_processes_build_the_one_process_tables_and_cache_them(snap, tmp_path):
    s, digest = snap
    one, _ = build_dataset(s, DAYS, digest, cache_dir=tmp_path / "one", workers=1)
    two, _ = build_dataset(s, DAYS, digest, cache_dir=tmp_path / "two", workers=2)
    _same(two, one)
    assert sorted(two.enterprise["as_of"].unique()) == DAYS
    assert len(two.tip) and two.tip["as_of"].isin(DAYS).all()
    for home in ("one", "two"):
        key = feature_cache_dir(tmp_path / home, digest)
        assert sorted(p.name for p in key.glob("*.parquet")) == sorted(
            f"{d.date()}-{t}.parquet" for d in DAYS for t in ("enterprise", "tip"))
    # read back from the cache they wrote, the same values again (text columns come back from
    # parquet as pandas' string dtype rather than object, as they always have)
    again, _ = build_dataset(s, DAYS, digest, cache_dir=tmp_path / "two", workers=2)
    _same(again, one, check_dtype=False)


def test_the_latest_feature_set_is_built_in_process_beside_the_worker(snap, tmp_path):
    s, digest = snap
    one, fs_one = build_dataset(s, DAYS[:3], digest, workers=1, latest=True)
    two, fs_two = build_dataset(s, DAYS[:3], digest, workers=2, latest=True)
    _same(two, one)
    assert fs_two is not None and fs_two.as_of == DAYS[2]
    for table in ("enterprise", "tip", "site", "ledger_mismatch", "manifest_checks", "stops", "vehicle"):
        pd.testing.assert_frame_equal(getattr(fs_two, table), getattr(fs_one, table), check_exact=True, obj=table)


DOOMED = DAYS[1]
_PLAIN = date_workers._build_one
_PARENT = os.getpid()


def _dies_on_one_date(day, *args):  # handed to the workers by name, like the real one
    if os.getpid() == _PARENT:  # the parent builds from the back, slowly: the worker reaches DOOMED first
        import time

        time.sleep(0.3)
    elif day == DOOMED:
        os.kill(os.getpid(), signal.SIGKILL)
    return _PLAIN(day, *args)


def test_a_worker_that_dies_fails_the_run_naming_its_date_and_caches_nothing_for_it(snap, tmp_path, monkeypatch):
    s, digest = snap
    doomed = DOOMED
    monkeypatch.setattr(date_workers, "_build_one", _dies_on_one_date)
    with pytest.raises(DateWorkerError, match=str(doomed.date())):
        build_dataset(s, DAYS, digest, cache_dir=tmp_path, workers=2)
    key = feature_cache_dir(tmp_path, digest)
    assert not (key / f"{doomed.date()}-enterprise.parquet").exists()
    # a date is cached whole or not at all, and nothing half-written is left behind
    for d in DAYS:
        ent, tip = (key / f"{d.date()}-enterprise.parquet").exists(), (key / f"{d.date()}-tip.parquet").exists()
        assert tip or not ent, d  # the tip table is written first; the enterprise table marks a whole entry
    assert not list(key.glob(".*.tmp"))
    assert date_workers._JOB is None  # the next run may fork again
    # what was cached reads back as the one-process tables
    one, _ = build_dataset(s, DAYS, digest, workers=1)
    again, _ = build_dataset(s, DAYS, digest, cache_dir=tmp_path, workers=1)
    _same(again, one, check_dtype=False)


def test_training_rows_without_evidence_are_the_same_rows_and_the_cache_keeps_the_evidence(snap, tmp_path):
    """What a training run learns from (``evidence=False``): the full tables less their evidence
    columns (``feature@field``), whether built or read from the cache; the cache keeps them all,
    so a later run that needs the evidence is served from it."""
    from features.catalogue import EVIDENCE_SEP

    s, digest = snap
    full, _ = build_dataset(s, DAYS[:3], digest, workers=1)
    built, _ = build_dataset(s, DAYS[:3], digest, cache_dir=tmp_path, workers=1, evidence=False)
    cached, _ = build_dataset(s, DAYS[:3], digest, cache_dir=tmp_path, workers=1, evidence=False)
    for kind in ("enterprise", "tip"):
        whole = getattr(full, kind)
        ev = [c for c in whole.columns if EVIDENCE_SEP in c]
        assert ev, kind  # the tables have evidence to leave out
        bare = whole.drop(columns=ev)
        pd.testing.assert_frame_equal(getattr(built, kind), bare, check_exact=True, obj=kind)
        pd.testing.assert_frame_equal(getattr(cached, kind), bare, check_exact=True, check_dtype=False, obj=kind)
    kept = pd.read_parquet(feature_cache_dir(tmp_path, digest) / f"{DAYS[0].date()}-enterprise.parquet")
    assert any(EVIDENCE_SEP in c for c in kept.columns)
    again, _ = build_dataset(s, DAYS[:3], digest, cache_dir=tmp_path, workers=1)
    _same(again, full, check_dtype=False)


def _where_built(day, cache=None, keep=False):  # handed to the workers by name: which process took the date
    import time

    time.sleep(0.05)  # long enough for both processes to take dates
    return day, pd.DataFrame({"pid": [os.getpid()]}), pd.DataFrame(), ("kept" if keep else None)


@pytest.mark.parametrize("keep_last", [False, True])
def test_each_process_takes_neighbouring_dates_from_its_end_and_every_date_once(monkeypatch, keep_last):
    """The forked worker takes the dates from the earliest on, this process from the latest back
    (the latest first: its FeatureSet is the one kept), so each builds a run of neighbouring dates
    (its caches serve the next one); they meet somewhere."""
    days = [pd.Timestamp("2021-01-31") + pd.offsets.MonthEnd(k) for k in range(12)]
    monkeypatch.setattr(date_workers, "_build_one", _where_built)
    built = list(date_workers.build_dates(None, days, None, None, 2, keep_last=keep_last))
    assert sorted(d for d, *_ in built) == days and len(built) == len(days)
    by = {d: int(e["pid"].iloc[0]) for d, e, _, _ in built}
    pids = list(dict.fromkeys(by[d] for d in days))
    assert len(pids) == 2, "both processes took dates"
    first, last = pids
    assert last == os.getpid() and first != os.getpid()  # the parent builds from the back
    k = sum(by[d] == first for d in days)
    assert all(by[d] == first for d in days[:k]) and all(by[d] == last for d in days[k:])
    assert built[0][0] == days[-1]  # the parent's first date, handed over first
    assert [fs for d, _, _, fs in built if fs is not None] == (["kept"] if keep_last else [])
    assert {d for d, _, _, fs in built if fs is not None} <= {days[-1]}
    assert date_workers._JOB is None
