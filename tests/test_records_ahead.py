"""The records' features built ahead in a forked process (``training.records_ahead``) change nothing:
a date built from a table handed over is the date built whole; the process offers its tables only
for the snapshot the run loaded, skips dates already taken, fails quietly, and leaves nothing behind.
"""

from __future__ import annotations

import pickle
import signal
import time

import pandas as pd
import pytest

from features.build import build, build_tables, place_index, record_features
from features.snapshot import load_snapshot, snapshot_digest
from features.trajectory_features import build_stop_index
from training import records_ahead
from training.dataset import build_dataset
from training.records_ahead import RecordsAhead

# a first month end, two consecutive ones and a later one; the small city's enterprises open over
# its year, so some did not exist yet at the first dates
DAYS = [pd.Timestamp(d) for d in ("2021-04-30", "2021-06-30", "2021-07-31", "2021-11-30")]


@pytest.fixture(scope="module")
def snap(small_snapshot):
    s = load_snapshot(small_snapshot)
    return s, snapshot_digest(small_snapshot), build_stop_index(s), place_index(s)


def _same(a: pd.DataFrame, b: pd.DataFrame, obj: str) -> None:
    pd.testing.assert_frame_equal(a, b, check_exact=True, obj=obj)


def test_a_date_built_from_records_made_elsewhere_is_the_date_built_whole(snap):
    s, _, index, places = snap
    for d in DAYS:
        whole = build(s, d, trajectory_index=index, places=places)
        handed = pickle.loads(pickle.dumps(record_features(s, d)[0]))  # as it comes from the other process
        ent, tip = build_tables(s, d, index, places, records=handed)
        _same(ent, whole.enterprise, f"enterprise {d.date()}")
        _same(tip, whole.tip, f"tip {d.date()}")
        if d == DAYS[0]:  # and without a table handed over (the date workers' own path)
            ent, tip = build_tables(s, d, index, places)
            _same(ent, whole.enterprise, f"enterprise built whole {d.date()}")
            _same(tip, whole.tip, f"tip built whole {d.date()}")
    # the records table holds every enterprise; the ones not open yet are cut afterwards
    opened = s.enterprises.set_index("enterprise_id")["opened"]
    later = opened[opened > DAYS[0]].index
    assert len(later), "the small city should have enterprises opened after its first date"
    assert set(later) <= set(record_features(s, DAYS[0])[0].index)
    assert not set(later) & set(build(s, DAYS[0], trajectory_index=index, places=places).enterprise.index)


def test_the_process_hands_over_each_planned_date_for_the_snapshot_it_read(snap, small_snapshot, tmp_path):
    s, digest, _, _ = snap
    ahead = RecordsAhead.start(small_snapshot, lambda loaded: DAYS, under=tmp_path)
    try:
        ahead.process.join(timeout=300)
        assert ahead.process.exitcode == 0
        assert ahead.take(DAYS[0]) is None  # the run has not said which snapshot it loaded
        ahead.expect("another snapshot's digest")
        assert ahead.take(DAYS[1]) is None
        assert ahead.ready() == 0
        ahead.expect(digest)
        assert ahead.ready() == len(DAYS)
        for d in DAYS[2:]:
            _same(ahead.take(d), record_features(s, d)[0], f"records {d.date()}")
    finally:
        ahead.close()
    assert not ahead.folder.exists()
    assert ahead.take(DAYS[3]) is None  # closed: every date is built whole


def test_dates_already_taken_are_skipped(small_snapshot, tmp_path):
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / f"{DAYS[1].date()}.taken").touch()
    records_ahead._build(small_snapshot, folder, lambda loaded: DAYS)
    assert sorted(p.name for p in folder.glob("*.pkl")) == sorted(f"{d.date()}.pkl" for d in DAYS if d != DAYS[1])
    assert (folder / records_ahead.DIGEST).read_text() == snapshot_digest(small_snapshot)
    assert not list(folder.glob(".*.tmp"))


def test_dates_are_planned_from_the_records_without_the_fixes(small_snapshot, snap):
    s = snap[0]
    skip = load_snapshot(small_snapshot, trajectories="skip")
    with pytest.raises(RuntimeError, match="without its trajectories"):
        _ = skip.last_day
    days = [s.electricity["date"].max(), s.manifests["departed_at"].max(), s.tips["received_at"].max(), s.cases["opened"].max()]
    assert skip.records_last_day == s.records_last_day == max(pd.Timestamp(d).normalize() for d in days)
    assert s.records_last_day <= s.last_day


def test_a_process_that_cannot_read_the_snapshot_offers_nothing(tmp_path):
    empty = tmp_path / "not-a-snapshot"
    empty.mkdir()
    ahead = RecordsAhead.start(empty, lambda loaded: DAYS, under=tmp_path / "cache")
    try:
        ahead.process.join(timeout=120)
        assert ahead.process.exitcode == 1
        ahead.expect(snapshot_digest(empty))
        assert ahead.take(DAYS[0]) is None
    finally:
        ahead.close()
    assert not list((tmp_path / "cache").iterdir())


def test_the_date_workers_build_on_the_tables_handed_over(snap, small_snapshot, tmp_path):
    """A table in the folder is what a worker builds on: one altered there shows in that date's
    features (the enterprises' and the tips naming them), and only in that date's (the others
    equal the tables built whole)."""
    s, digest, _, _ = snap
    whole, _ = build_dataset(s, DAYS, digest, workers=1)
    ahead = RecordsAhead.start(small_snapshot, lambda loaded: DAYS, under=tmp_path)
    try:
        ahead.process.join(timeout=300)
        ahead.expect(digest)
        marked = record_features(s, DAYS[2])[0]
        marked["prior_confirmed_cases"] = 99.0
        records_ahead._write(ahead.folder / f"{DAYS[2].date()}.pkl", pickle.dumps(marked))
        two, _ = build_dataset(s, DAYS, digest, workers=2, records=ahead)
    finally:
        ahead.close()
    at = two.enterprise["as_of"] == DAYS[2]
    assert (two.enterprise.loc[at, "prior_confirmed_cases"] == 99.0).all()
    assert not (whole.enterprise.loc[at.to_numpy(), "prior_confirmed_cases"] == 99.0).any()
    rest = ~at.to_numpy()
    _same(two.enterprise[rest].reset_index(drop=True), whole.enterprise[rest].reset_index(drop=True), "other dates")
    tip_at = (two.tip["as_of"] == DAYS[2]).to_numpy()
    assert (two.tip.loc[tip_at, "named_prior_confirmed_cases"] == 99.0).any()
    _same(two.tip[~tip_at].reset_index(drop=True), whole.tip[~tip_at].reset_index(drop=True), "tips of other dates")


def _forever(loaded):
    time.sleep(600)
    return DAYS


def test_close_stops_a_process_still_building_even_under_a_parent_that_handles_sigterm(small_snapshot, tmp_path):
    """The run closes the process when its dates are done (or it failed): a process still at work
    is stopped by SIGTERM, whatever handler the parent installed (a service's graceful shutdown)."""
    before = signal.signal(signal.SIGTERM, lambda *_: None)  # a parent that shrugs SIGTERM off
    try:
        ahead = RecordsAhead.start(small_snapshot, _forever, under=tmp_path)
    finally:
        signal.signal(signal.SIGTERM, before)
    deadline = time.monotonic() + 60
    while not (ahead.folder / records_ahead.DIGEST).exists() and time.monotonic() < deadline:
        time.sleep(0.1)  # it has read the snapshot and is planning its dates
    assert ahead.process.is_alive()
    ahead.close()
    assert ahead.process.exitcode == -signal.SIGTERM
    assert not ahead.folder.exists()
